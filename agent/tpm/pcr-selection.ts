// SPDX-License-Identifier: Apache-2.0
/**
 * PCR selections, one concept for every layer: the selection type, its TPML_PCR_SELECTION form (Part 2
 * §10.9.7, with TPMS_PCR_SELECTION of §10.6.2: pcrSelect[i/8] bit i%8), and its text in tpm2-tools'
 * syntax (`sha1:0,23+sha256:0-7,16`; tpm2-tools lib/pcr.c pcr_parse_selections), ranges allowed; and the
 * shape of PCR values read or quoted. Reading PCRs from a TPM is tpm/pcr.ts's.
 *
 * Parsing is strict: an unknown bank, a bank named twice, an empty or reversed range, a repeated PCR,
 * a PCR above 23, or stray characters are errors (E_PCR_SELECTION), never silently dropped. The bank
 * order is kept: a quote's pcrDigest covers the banks in the order of its selection (Part 3 §18.4).
 */
import { BANK_NAMES, bankName, hashByName } from '../crypto/algorithms.js';
import { ExecgateError } from '../errors.js';
import type { TPML_PCR_SELECTION } from './structures.js';

export class SelectionError extends ExecgateError<'E_PCR_SELECTION'> {
  constructor(message: string) {
    super('E_PCR_SELECTION', message);
  }
}

/** One bank's PCR indices. */
export interface PcrBankSelection {
  /** The bank's hash, a TPM_ALG_ID (Part 2 §6.3). */
  readonly hash: number;
  readonly pcrs: readonly number[];
}

/** A PCR selection: banks in order, each with ascending unique PCR indices. */
export type PcrSelection = readonly PcrBankSelection[];

/** PCR values keyed by bank algorithm (TPM_ALG_ID), then PCR index. */
export type PcrValues = Map<number, Map<number, Uint8Array>>;

/** The highest PCR index of a PC Client TPM (24 PCRs, sizeofSelect 3). */
export const MAX_PCR = 23;
/** HASH_COUNT bound of TPML_PCR_SELECTION as execgate declares it (structures.ts). */
const MAX_BANKS = 16;

/** Bitmap of Part 2 §10.6.2 (pcrSelect[i/8] bit i%8) for `pcrs`, at least `sizeofSelect` bytes. */
export function pcrBitmap(pcrs: readonly number[], sizeofSelect = 3): Uint8Array {
  const max = pcrs.reduce((m, p) => Math.max(m, p), -1);
  const out = new Uint8Array(Math.max(sizeofSelect, Math.floor(max / 8) + 1));
  for (const p of pcrs) {
    if (!Number.isInteger(p) || p < 0 || p > 255) throw new RangeError(`PCR index ${p} is out of range`);
    out[p >> 3] = (out[p >> 3] ?? 0) | (1 << (p & 7));
  }
  return out;
}

/** The PCR indices set in a pcrSelect bitmap, ascending. */
export function pcrsOfBitmap(bitmap: Uint8Array): number[] {
  const out: number[] = [];
  bitmap.forEach((byte, i) => {
    for (let b = 0; b < 8; b++) if (byte & (1 << b)) out.push(i * 8 + b);
  });
  return out;
}

/**
 * TPML_PCR_SELECTION of `selection`, bank order kept, each bitmap at least `sizeofSelect` bytes (PC
 * Client TPMs require 3). More banks than TPML_PCR_SELECTION holds is E_PCR_SELECTION.
 */
export function toTpml(selection: PcrSelection, sizeofSelect = 3): TPML_PCR_SELECTION {
  if (selection.length > MAX_BANKS) throw new SelectionError(`more than ${MAX_BANKS} banks selected`);
  return selection.map((b) => ({ hash: b.hash, pcrSelect: pcrBitmap(b.pcrs, sizeofSelect) }));
}

/** The selection a TPML_PCR_SELECTION names, bank order kept (banks with no PCR set included). */
export function fromTpml(tpml: TPML_PCR_SELECTION): PcrBankSelection[] {
  return tpml.map((s) => ({ hash: s.hash, pcrs: pcrsOfBitmap(s.pcrSelect) }));
}

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
