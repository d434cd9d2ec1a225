// SPDX-License-Identifier: Apache-2.0
// An honest host must pass its own captured reference: for every real event log in test/vectors/eventlog,
// `state capture` then `state check` through the library (docs/measured-state.md): the quote is the log's
// own replay (what the TPM holds after those extends), the verdict of a
// capture (no reference) must be clean, captureReference must give a valid document, and the same log and
// quote judged against that document must pass. A reference that an honest boot fails is a regression of
// the stricter rules (definedForm, bootCommands, Secure Boot by content, the PCR 4/8/9 coverage).
import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../../agent/crypto/hash.js';
import { replayEventLog } from '../../agent/measure/replay.js';
import { captureReference, judgeMeasuredState } from '../../agent/measure/state/index.js';
import { loadEventLog, REAL_LOGS } from '../helpers/eventlog-vectors.js';

beforeAll(async () => {
  await initHashing();
});

const NOW = new Date('2026-12-01T00:00:00.000Z');

describe('state capture → state check on every real event log', () => {
  it('finds the vectors', () => {
    expect(REAL_LOGS.length).toBeGreaterThan(30);
  });

  for (const name of REAL_LOGS) {
    it(`${name}: the host passes the reference captured from its own boot`, () => {
      const log = loadEventLog(name);
      const quoted = replayEventLog(log).pcrs;
      const first = judgeMeasuredState({ quoted, eventLog: { log } });
      // A capture's verdict (no reference) judges only the log against its own replay: it must hold.
      expect(first.failures).toEqual([]);
      expect(first.ok).toBe(true);
      const reference = captureReference(first.evidence, { now: NOW });
      const again = judgeMeasuredState({ quoted, eventLog: { log }, reference });
      expect(again.failures).toEqual([]);
      expect(again.ok).toBe(true);
      // The capture judged what the log shows: Secure Boot is "required" exactly when it read "enabled".
      expect(reference.rules.secureBoot).toBe(
        first.evidence.boot?.secureBoot === 'enabled' ? 'required' : 'any',
      );
    });

    it(`${name}: each bank alone, with no exact PCRs (the allowlists, bootCommands and Secure Boot judge)`, () => {
      // `state capture --exact-pcrs none` on a TPM that quotes one bank: the reference holds only the
      // rules that read the log, so they, not a pinned PCR value, must accept the boot they were taken from.
      const log = loadEventLog(name);
      const replay = replayEventLog(log).pcrs;
      for (const [alg, values] of replay) {
        const quoted = new Map([[alg, values]]);
        const first = judgeMeasuredState({ quoted, eventLog: { log } });
        expect(first.failures).toEqual([]);
        const reference = captureReference({ ...first.evidence, pcrs: new Map() }, { now: NOW });
        expect(reference.pcrs).toEqual({});
        const again = judgeMeasuredState({ quoted, eventLog: { log }, reference });
        expect({ bank: alg, failures: again.failures }).toEqual({ bank: alg, failures: [] });
      }
    });
  }
});

describe('Secure Boot is read from the real logs whose state their source states', () => {
  // The stricter reading (one SecureBoot event before PCR 7's separator, by content) must still read the
  // honest logs: an 'unknown' here would make secureBoot "required" impossible to meet for such a host.
  const EXPECTED: Readonly<Record<string, 'enabled' | 'disabled'>> = {
    'go-attestation/sb_cert_eventlog': 'enabled',
    'keylime/binary_bios_measurements-secureboot': 'enabled',
    'go-attestation/coreos_36_shielded_vm_no_secure_boot_eventlog': 'disabled',
    'go-attestation/ubuntu_2104_shielded_vm_no_secure_boot_eventlog': 'disabled',
    'go-tpm-tools/ubuntu-2104-no-secure-boot.bin': 'disabled',
  };
  for (const [name, state] of Object.entries(EXPECTED)) {
    it(`${name} reads ${state}`, () => {
      const log = loadEventLog(name);
      const v = judgeMeasuredState({ quoted: replayEventLog(log).pcrs, eventLog: { log } });
      expect(v.evidence.boot?.secureBoot).toBe(state);
    });
  }
});
