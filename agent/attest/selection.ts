// SPDX-License-Identifier: Apache-2.0
/**
 * PCR selections in tpm2-tools' syntax (`sha1:0,23+sha256:0-7,16`; tpm2-tools lib/pcr.c
 * pcr_parse_selections), ranges allowed, and their TPML_PCR_SELECTION form (Part 2 §10.9.7, with
 * TPMS_PCR_SELECTION of §10.6.2: pcrSelect[i/8] bit i%8).
 *
 * Parsing is strict: an unknown bank, a bank named twice, an empty or reversed range, a repeated PCR,
 * a PCR above 23, or stray characters are errors (E_PCR_SELECTION), never silently dropped. The bank
 * order is kept: a quote's pcrDigest covers the banks in the order of its selection (Part 3 §18.4).
 */

import { BANK_NAMES, bankName, hashByName } from '../crypto/algorithms.js';
import { ExecgateError } from '../errors.js';
import { type PcrBankSelection, pcrBitmap, pcrsOfBitmap } from '../tpm/pcr.js';
import type { TPML_PCR_SELECTION } from '../tpm/structures.js';

export class SelectionError extends ExecgateError<'E_PCR_SELECTION'> {
  constructor(message: string) {
    super('E_PCR_SELECTION', message);
  }
}

/** A PCR selection: banks in order, each with ascending unique PCR indices. */
export type PcrSelection = readonly PcrBankSelection[];

/** The highest PCR index of a PC Client TPM (24 PCRs, sizeofSelect 3). */
export const MAX_PCR = 23;
/** HASH_COUNT bound of TPML_PCR_SELECTION as execgate declares it (structures.ts). */
const MAX_BANKS = 16;

function index(text: string, where: string): number {
  if (!/^(0|[1-9]\d{0,2})$/.test(text)) throw new SelectionError(`${where}: "${text}" is not a PCR index`);
  const n = Number(text);
  if (n > MAX_PCR) throw new SelectionError(`${where}: PCR ${n} is out of range 0..${MAX_PCR}`);
  return n;
}

/** Parses `bank:list[+bank:list…]`; list items are `N`, `N-M`, or `all` alone (PCRs 0–23). */
export function parseSelection(text: string): PcrBankSelection[] {
  if (typeof text !== 'string' || text.length === 0) throw new SelectionError('empty PCR selection');
  const out: PcrBankSelection[] = [];
  for (const part of text.split('+')) {
    const m = /^([a-z0-9_]+):(.+)$/i.exec(part);
    if (!m?.[1] || !m[2])
      throw new SelectionError(`"${part}" is not of the form bank:pcrs (e.g. sha256:0-7,16)`);
    const name = m[1].toLowerCase();
    const hash = hashByName(name)?.tpmAlg;
    if (hash === undefined) {
      throw new SelectionError(`unknown PCR bank "${m[1]}"; use one of ${BANK_NAMES.join(', ')}`);
    }
    if (out.some((b) => b.hash === hash)) throw new SelectionError(`bank ${name} is selected twice`);
    const pcrs = new Set<number>();
    const items = m[2] === 'all' ? [`0-${MAX_PCR}`] : m[2].split(',');
    for (const item of items) {
      const where = `${name}:${m[2]}`;
      const range = /^([^-]+)-([^-]+)$/.exec(item);
      const lo = index(range?.[1] ?? item, where);
      const hi = range?.[2] === undefined ? lo : index(range[2], where);
      if (lo > hi) throw new SelectionError(`${where}: range ${item} is reversed`);
      for (let p = lo; p <= hi; p++) {
        if (pcrs.has(p)) throw new SelectionError(`${where}: PCR ${p} is selected twice`);
        pcrs.add(p);
      }
    }
    out.push({ hash, pcrs: [...pcrs].sort((a, b) => a - b) });
  }
  return out;
}

/** Canonical text: banks in order, consecutive PCRs as ranges (`sha256:0-7,16`). */
export function formatSelection(selection: PcrSelection): string {
  return selection
    .map((b) => {
      const parts: string[] = [];
      const pcrs = [...b.pcrs].sort((x, y) => x - y);
      for (let i = 0; i < pcrs.length; ) {
        let j = i;
        while (j + 1 < pcrs.length && pcrs[j + 1] === (pcrs[j] ?? 0) + 1) j++;
        const lo = pcrs[i] ?? 0;
        const hi = pcrs[j] ?? 0;
        parts.push(lo === hi ? String(lo) : `${lo}-${hi}`);
        i = j + 1;
      }
      return `${bankName(b.hash)}:${parts.join(',')}`;
    })
    .join('+');
}

/** TPML_PCR_SELECTION with sizeofSelect 3 (Part 2 §10.6.2; PC Client TPMs require at least 3). */
export function toTpmlSelection(selection: PcrSelection): TPML_PCR_SELECTION {
  if (selection.length > MAX_BANKS) throw new SelectionError(`more than ${MAX_BANKS} banks selected`);
  return selection.map((b) => ({ hash: b.hash, pcrSelect: pcrBitmap(b.pcrs, 3) }));
}

/** The selection a TPML_PCR_SELECTION names, bank order kept (banks with no PCR set included). */
export function fromTpmlSelection(tpml: TPML_PCR_SELECTION): PcrBankSelection[] {
  return tpml.map((s) => ({ hash: s.hash, pcrs: pcrsOfBitmap(s.pcrSelect) }));
}

/** Same banks in the same order with the same PCRs. */
export function sameSelection(a: PcrSelection, b: PcrSelection): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i];
    if (y === undefined || x.hash !== y.hash || x.pcrs.length !== y.pcrs.length) return false;
    const ys = [...y.pcrs].sort((p, q) => p - q);
    return [...x.pcrs].sort((p, q) => p - q).every((p, k) => p === ys[k]);
  });
}

/** Number of PCR values a selection names. */
export function selectionSize(selection: PcrSelection): number {
  return selection.reduce((n, b) => n + b.pcrs.length, 0);
}
