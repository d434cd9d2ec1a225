// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/audit/tree
 *
 * The audit log's Merkle tree (RFC 9162 §2.1; DESIGN §7), pure: no I/O, no TPM, no clock.
 *
 * - `LogVerifier` consumes the log's entries in sequence order, in chunks as the store or a bundle
 *   yields them, recomputes every leaf hash SHA-256(0x00 ‖ bytes) in batches (wasm-core's multi-buffer
 *   kernel, the 0x00 prefix written beside each entry in its arena, so no prefixed copy is made),
 *   compares it with the stored one, and appends the leaves to a compact frontier: the roots of the
 *   perfect subtrees of the prefix read so far (RFC 9162 §2.1.1's structure: a tree of size n is the
 *   perfect subtrees of the binary digits of n, largest on the left), one per set bit of the size. Whole
 *   chunks are folded into the frontier a level at a time, each level one `merkleLevelInto` call, and the
 *   root at any size is the O(log n) fold of the frontier, taken at each checkpoint size as the stream
 *   reaches it. Memory is O(chunk + log n), whatever the log's length.
 * - Proofs and the `audit prove` JSON are in proofs.ts.
 *
 * Results are verdicts, not exceptions (STYLE principle 5): entries and checkpoints come from a
 * database or a bundle an attacker may have edited, so every finding is a `TreeFailure` with a stable
 * code, and only misuse by our own code (a wrong type or an impossible option) throws.
 *
 * Call `await initHashing()` (agent/crypto) once first: the hashing runs on wasm-core's default instance.
 *
 * Not covered: who made a checkpoint. A root here is only compared with the entries; the checkpoint
 * module verifies the TPM quote and the NV counter behind each (size, root). Nor does this module
 * decode entries: their CBOR is the store's. The verifiers of proofs check the hash chain only; the
 * (size, root) they end in must come from an authenticated checkpoint (pass it as `trusted`).
 */
import * as wasm from '../../wasm-core/index.js';
import { toHex } from '../encoding/bytes.js';
import { equalHash, HASH_BYTES, isBytes, isCount, verifyConsistencyProof } from './proofs.js';

/** Bytes of a SHA-256 digest: every leaf hash, node and root. */
/** Frontier slots: a safe integer has at most 53 binary digits. */
const MAX_LEVELS = 53;

/** One stored log entry as the store yields it: its sequence number, CBOR bytes and stored leaf hash. */
export interface LogEntry {
  readonly seq: number;
  readonly bytes: Uint8Array;
  /** SHA-256(0x00 ‖ bytes), as stored (RFC 9162 §2.1.1); recomputed and compared, never trusted. */
  readonly leaf: Uint8Array;
}

/**
 * What the verifier reads: a stored entry, or, with `storedLeaves: false`, one from a source that stores
 * no leaf hash (a bundle), whose leaf is then only recomputed.
 */
export type EntryToVerify = Omit<LogEntry, 'leaf'> & { readonly leaf?: Uint8Array };

/**
 * Entries as consecutive items of one buffer (a bundle's, split by agent/encoding/cbor.ts
 * `cborItemBounds`): entry i is bytes[bounds[i], bounds[i + 1]) for i < count; its seq is its position.
 */
export interface EntryItems {
  readonly bytes: Uint8Array;
  readonly bounds: Float64Array;
  readonly count: number;
}

/** A checkpoint's claim: the log's first `size` entries have the Merkle tree hash `root`. */
export interface CheckpointRoot {
  readonly size: number;
  readonly root: Uint8Array;
}

/** Reason codes of the tree checks (the audit layer's codes; E_AUDIT_CHECKPOINT and _ROLLBACK are not ours). */
export type TreeErrorCode = 'E_AUDIT_ENTRY' | 'E_AUDIT_ROOT' | 'E_AUDIT_TRUNCATED' | 'E_AUDIT_CONSISTENCY';

/** What each code means, for help texts and reports. */
export const TREE_ERROR_MEANING = {
  E_AUDIT_ENTRY: "an entry's bytes or stored leaf hash were changed, or an entry is malformed",
  E_AUDIT_ROOT:
    "the entries are not the log a checkpoint commits to (an entry deleted, inserted or moved, or a checkpoint's root altered)",
  E_AUDIT_TRUNCATED: 'a checkpoint covers more entries than the log has',
  E_AUDIT_CONSISTENCY: 'a checkpoint is not an extension of the one before it',
} as const satisfies Record<TreeErrorCode, string>;

/** A finding: the first one in stream order. */
export interface TreeFailure {
  readonly ok: false;
  readonly code: TreeErrorCode;
  readonly detail: string;
  /** The sequence number of the entry at fault, when one is. */
  readonly seq?: number;
  /** The position, in the list given to the verifier, of the checkpoint at fault, when one is. */
  readonly checkpoint?: number;
}

/** The whole log verified: its size and root, and how many checkpoints were compared with it. */
export interface TreeVerified {
  readonly ok: true;
  readonly size: number;
  readonly root: Uint8Array;
  readonly checkpoints: number;
}

export type TreeVerdict = TreeVerified | TreeFailure;

function failure(
  code: TreeErrorCode,
  detail: string,
  at: { seq?: number; checkpoint?: number } = {},
): TreeFailure {
  return { ok: false, code, detail, ...at };
}

/** RFC 9162 §2.1.1 leaf hash of one entry: one definition, the entry module's. */
export { leafHash } from './entry.js';

/** The Merkle tree hash of the empty tree, SHA-256 of "" (RFC 9162 §2.1.1). */
function emptyRoot(): Uint8Array {
  return wasm.merkleRootOfLeafHashes(new Uint8Array(0));
}

/** Options of `LogVerifier`. */
export interface LogVerifierOptions {
  /**
   * The checkpoints to compare with the entries, in the order they were made (counter increasing):
   * each one's size must be at least its predecessor's (else E_AUDIT_CONSISTENCY), and its root is
   * compared with the recomputed root when the stream reaches its size (E_AUDIT_ROOT), or reported as
   * E_AUDIT_TRUNCATED at `finish()` when the log ends before it.
   */
  readonly checkpoints?: readonly CheckpointRoot[];
  /** The sequence number of leaf 0 (default 0); entry i of the log must carry firstSeq + i. */
  readonly firstSeq?: number;
  /**
   * Start after the first `size` entries, from their frontier (as `frontier()` gave it) instead of from
   * the empty tree: checkpointing extends the newest checkpoint without rereading the log. The frontier
   * is trusted only as far as a checkpoint of exactly `size` is passed with it: its root is compared with
   * the frontier's fold before any entry is read (a changed frontier folds to another root).
   * Checkpoints of a smaller size cannot be checked from here and are refused (RangeError).
   */
  readonly resume?: { readonly size: number; readonly frontier: Uint8Array };
  /**
   * false: entries may come without a stored leaf hash (a bundle stores none, so reading one computed
   * from the bytes would only hash each entry twice); theirs is recomputed, and the checkpoint roots
   * judge the bytes. Default true: every entry must carry one (else E_AUDIT_ENTRY).
   */
  readonly storedLeaves?: boolean;
}

/** The levels of the frontier nodes a tree of `size` leaves has: one per set bit, lowest first. */
function frontierLevels(size: number): number[] {
  const levels: number[] = [];
  for (let level = 0, s = size; s > 0; level++, s = Math.floor(s / 2)) if (s % 2 === 1) levels.push(level);
  return levels;
}

interface PendingCheckpoint {
  readonly size: number;
  readonly root: Uint8Array;
  readonly index: number;
}

/**
 * Incremental verifier of the log against its checkpoints. Feed it the entries in sequence order with
 * `push` (any chunk sizes, at least one entry per call for progress), then call `finish()`. The first
 * finding is returned by `push` as soon as it is made and by every later call; a verifier that has
 * failed does no more work. Checks, for entry i: seq = firstSeq + i (a gap, a repeat or a reorder of
 * sequence numbers is E_AUDIT_ROOT: the entries are not the committed log), the stored leaf is 32 bytes
 * and equals SHA-256(0x00 ‖ bytes) (else E_AUDIT_ENTRY; unless `storedLeaves` is false and there is
 * none); for each checkpoint, the root of the first `size` entries (E_AUDIT_ROOT), that the log reaches
 * its size (E_AUDIT_TRUNCATED), and that sizes do not decrease from one checkpoint to the next
 * (E_AUDIT_CONSISTENCY). When every checkpoint matches the same recomputed tree, consecutive
 * checkpoints are consistent (RFC 9162 §2.1.4) with no proof needed.
 *
 * Not covered: entries past the last checkpoint are checked for their leaf hashes and sequence numbers
 * only; no root commits to them yet, so their deletion from the end is not detectable here.
 */
export class LogVerifier {
  readonly #firstSeq: number;
  readonly #storedLeaves: boolean;
  readonly #pending: readonly PendingCheckpoint[];
  #nextCheckpoint = 0;
  readonly #roots = new Map<number, Uint8Array>();
  #failure: TreeFailure | undefined;
  #size = 0;
  /** Node h of the frontier at 32 h, meaningful when bit h of the size is set. */
  readonly #frontier = new Uint8Array(MAX_LEVELS * HASH_BYTES);
  /** Leaf hashes of the current chunk from offset 32 (one node of headroom for the frontier's). */
  #leaves = new Uint8Array(0);
  /** Two buffers the levels above the leaves alternate between, each with one node of headroom. */
  #levelA = new Uint8Array(0);
  #levelB = new Uint8Array(0);
  readonly #bytes: Uint8Array[] = [];
  readonly #pair = new Uint8Array(2 * HASH_BYTES);

  constructor(options: LogVerifierOptions = {}) {
    const { checkpoints = [], firstSeq = 0, resume, storedLeaves = true } = options;
    if (!isCount(firstSeq))
      throw new RangeError(`options.firstSeq must be a safe non-negative integer, got ${firstSeq}`);
    if (!Array.isArray(checkpoints)) throw new TypeError('options.checkpoints must be an array');
    if (typeof storedLeaves !== 'boolean') throw new TypeError('options.storedLeaves must be a boolean');
    this.#firstSeq = firstSeq;
    this.#storedLeaves = storedLeaves;
    if (resume !== undefined) this.#resume(resume, checkpoints);
    const pending: PendingCheckpoint[] = [];
    checkpoints.forEach((c: CheckpointRoot, index) => {
      if (typeof c !== 'object' || c === null)
        throw new TypeError(`options.checkpoints[${index}] must be an object`);
      if (!isCount(c.size)) {
        throw new RangeError(
          `options.checkpoints[${index}].size must be a safe non-negative integer, got ${c.size}`,
        );
      }
      if (!isBytes(c.root)) throw new TypeError(`options.checkpoints[${index}].root must be a Uint8Array`);
      const before = checkpoints[index - 1];
      if (this.#failure === undefined && before !== undefined && c.size < before.size) {
        this.#failure = failure(
          'E_AUDIT_CONSISTENCY',
          `checkpoint ${index} has size ${c.size}, below the size ${before.size} of the checkpoint before it`,
          { checkpoint: index },
        );
      }
      pending.push({ size: c.size, root: c.root, index });
    });
    // Stable: checkpoints of one size keep their order.
    this.#pending = pending.sort((x, y) => x.size - y.size);
  }

  /** Entries consumed so far (the progress of a verify). */
  get size(): number {
    return this.#size;
  }

  /** The first finding, once there is one. */
  get failure(): TreeFailure | undefined {
    return this.#failure;
  }

  /**
   * The recomputed root at `size`, once the stream has reached it, for the checkpoint sizes given to
   * the constructor (undefined otherwise: the frontier keeps no past roots but these).
   */
  rootAt(size: number): Uint8Array | undefined {
    return this.#roots.get(size)?.slice();
  }

  /** The root of the entries consumed so far (RFC 9162 §2.1.1; SHA-256 of "" for none). */
  root(): Uint8Array {
    return this.#foldRoot();
  }

  /**
   * The frontier of the entries consumed so far: the roots of the perfect subtrees of `size`, one per
   * set bit, lowest level first, 32 bytes each (what `resume` takes back).
   */
  frontier(): Uint8Array {
    const levels = frontierLevels(this.#size);
    const out = new Uint8Array(levels.length * HASH_BYTES);
    levels.forEach((level, i) => {
      out.set(this.#frontier.subarray(level * HASH_BYTES, (level + 1) * HASH_BYTES), i * HASH_BYTES);
    });
    return out;
  }

  #resume(resume: { size: number; frontier: Uint8Array }, checkpoints: readonly CheckpointRoot[]): void {
    if (typeof resume !== 'object' || resume === null)
      throw new TypeError('options.resume must be an object');
    if (!isCount(resume.size))
      throw new RangeError(`options.resume.size must be a safe non-negative integer, got ${resume.size}`);
    const levels = frontierLevels(resume.size);
    if (!isBytes(resume.frontier) || resume.frontier.length !== levels.length * HASH_BYTES)
      throw new TypeError(
        `options.resume.frontier must be ${levels.length * HASH_BYTES} bytes for size ${resume.size}`,
      );
    if (checkpoints.some((c) => typeof c === 'object' && c !== null && c.size < resume.size))
      throw new RangeError(`a checkpoint below the resumed size ${resume.size} cannot be checked`);
    levels.forEach((level, i) => {
      this.#frontier.set(resume.frontier.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES), level * HASH_BYTES);
    });
    this.#size = resume.size;
  }

  /** Consume the next entries in sequence order. Returns the first finding, if any so far. */
  push(entries: readonly EntryToVerify[]): TreeFailure | undefined {
    if (!Array.isArray(entries)) throw new TypeError('entries must be an array of log entries');
    if (this.#failure !== undefined) return this.#failure;
    this.#checkReached();
    if (this.#failure !== undefined || entries.length === 0) return this.#failure;
    const n = entries.length;
    // Structure first: everything before the first malformed or out-of-sequence entry is still checked,
    // so that the finding reported is the first in stream order.
    let end = n;
    let structural: TreeFailure | undefined;
    const bytes = this.#bytes;
    bytes.length = 0;
    for (let i = 0; i < n; i++) {
      structural = this.#checkShape(entries[i], this.#firstSeq + this.#size + i);
      if (structural !== undefined) {
        end = i;
        break;
      }
      bytes.push((entries[i] as EntryToVerify).bytes);
    }
    if (end > 0) {
      this.#reserve(end);
      const leaves = this.#leaves;
      wasm.merkleLeafHashesInto(bytes, leaves.subarray(HASH_BYTES));
      let good = end;
      for (let i = 0; i < end; i++) {
        const stored = (entries[i] as EntryToVerify).leaf;
        if (stored === undefined) continue;
        const at = HASH_BYTES * (i + 1);
        let j = 0;
        while (j < HASH_BYTES && stored[j] === leaves[at + j]) j++;
        if (j < HASH_BYTES) {
          good = i;
          const seq = this.#firstSeq + this.#size + i;
          structural = failure(
            'E_AUDIT_ENTRY',
            `entry ${seq}: stored leaf ${toHex(stored)}, SHA-256(0x00 ‖ bytes) is ${toHex(leaves.subarray(at, at + HASH_BYTES))}`,
            { seq },
          );
          break;
        }
      }
      this.#appendUpTo(good);
    }
    bytes.length = 0;
    if (this.#failure === undefined && structural !== undefined) this.#failure = structural;
    return this.#failure;
  }

  /**
   * Consume the next `count` entries given as items of one buffer, as a bundle holds them: entry i of
   * the call is bytes[bounds[i], bounds[i + 1]) (split by `cborItemBounds`), its seq is its position (firstSeq + size + i: nothing else carries it) and it has no stored leaf, so
   * only a verifier with `storedLeaves: false` takes them (TypeError otherwise). Hashed straight from
   * the buffer, with no object or subarray per entry. Returns the first finding, if any so far.
   */
  pushItems({ bytes, bounds, count }: EntryItems): TreeFailure | undefined {
    if (this.#storedLeaves) throw new TypeError('pushItems needs storedLeaves: false (items carry no leaf)');
    if (this.#failure !== undefined) return this.#failure;
    this.#checkReached();
    if (this.#failure !== undefined || count === 0) return this.#failure;
    this.#reserve(count);
    wasm.merkleLeafHashesOfItemsInto(bytes, bounds, count, this.#leaves.subarray(HASH_BYTES));
    this.#appendUpTo(count);
    return this.#failure;
  }

  /**
   * The verdict once every entry has been pushed: the first finding, else E_AUDIT_TRUNCATED when a
   * checkpoint covers more entries than were pushed, else the log's size and root.
   */
  finish(): TreeVerdict {
    if (this.#failure === undefined) this.#checkReached();
    if (this.#failure !== undefined) return this.#failure;
    const beyond = this.#pending[this.#nextCheckpoint];
    if (beyond !== undefined) {
      this.#failure = failure(
        'E_AUDIT_TRUNCATED',
        `checkpoint ${beyond.index} covers ${beyond.size} entries; the log has ${this.#size}`,
        { checkpoint: beyond.index },
      );
      return this.#failure;
    }
    return { ok: true, size: this.#size, root: this.#foldRoot(), checkpoints: this.#pending.length };
  }

  #checkShape(entry: EntryToVerify | undefined, want: number): TreeFailure | undefined {
    if (typeof entry !== 'object' || entry === null) {
      return failure('E_AUDIT_ENTRY', `entry ${want}: not an entry`, { seq: want });
    }
    const { seq } = entry;
    if (!isCount(seq)) return failure('E_AUDIT_ENTRY', `entry ${want}: seq is not an integer`, { seq: want });
    if (seq !== want) {
      return failure(
        'E_AUDIT_ROOT',
        seq > want
          ? `entry ${want} is missing: the next entry has seq ${seq}`
          : `entry ${seq} appears again (or out of order) where entry ${want} belongs`,
        { seq: want },
      );
    }
    if (!isBytes(entry.bytes))
      return failure('E_AUDIT_ENTRY', `entry ${seq}: bytes are not a byte string`, { seq });
    if (entry.leaf === undefined && !this.#storedLeaves) return undefined;
    if (!isBytes(entry.leaf) || entry.leaf.length !== HASH_BYTES) {
      return failure('E_AUDIT_ENTRY', `entry ${seq}: the stored leaf is not ${HASH_BYTES} bytes`, { seq });
    }
    return undefined;
  }

  /** Room for `count` leaf hashes and the levels above them, each with one node of headroom. */
  #reserve(count: number): void {
    const leafBytes = (count + 1) * HASH_BYTES;
    if (this.#leaves.length < leafBytes) this.#leaves = new Uint8Array(leafBytes);
    const levelBytes = (Math.ceil(count / 2) + 1) * HASH_BYTES;
    if (this.#levelA.length < levelBytes) {
      this.#levelA = new Uint8Array(levelBytes);
      this.#levelB = new Uint8Array(levelBytes);
    }
  }

  /** Append the first `count` leaf hashes of the chunk, stopping at each checkpoint size to compare. */
  #appendUpTo(count: number): void {
    let from = 0;
    while (from < count && this.#failure === undefined) {
      const next = this.#pending[this.#nextCheckpoint];
      const take = next === undefined ? count - from : Math.min(count - from, next.size - this.#size);
      this.#append(from, take);
      from += take;
      this.#checkReached();
    }
  }

  /** Compare every pending checkpoint whose size the stream has reached. */
  #checkReached(): void {
    let c = this.#pending[this.#nextCheckpoint];
    while (c !== undefined && c.size === this.#size && this.#failure === undefined) {
      let root = this.#roots.get(c.size);
      if (root === undefined) {
        root = this.#foldRoot();
        this.#roots.set(c.size, root);
      }
      if (!equalHash(root, c.root)) {
        this.#failure = failure(
          'E_AUDIT_ROOT',
          `checkpoint ${c.index} (size ${c.size}) has root ${toHex(c.root)}; the entries give ${toHex(root)}`,
          { checkpoint: c.index },
        );
      }
      this.#nextCheckpoint++;
      c = this.#pending[this.#nextCheckpoint];
    }
  }

  /**
   * Append leaf hashes [from, from + count) of the chunk to the frontier, a level at a time: at each
   * level the new nodes are preceded by the frontier's node there when they start at an odd position
   * (its right sibling comes first), pairs go up as one `merkleLevelInto` call, and an unpaired last node
   * becomes the frontier's node of that level. Levels above the last new node keep their nodes.
   */
  #append(from: number, count: number): void {
    if (count === 0) return;
    const frontier = this.#frontier;
    let src = this.#leaves;
    let at = (from + 1) * HASH_BYTES;
    let nodes = count;
    let position = this.#size;
    for (let level = 0; ; level++) {
      const slot = level * HASH_BYTES;
      if (position % 2 === 1) {
        // The node before `at` was consumed earlier (a leaf of this chunk already in the frontier, or
        // headroom), so the frontier's node is copied there.
        at -= HASH_BYTES;
        src.set(frontier.subarray(slot, slot + HASH_BYTES), at);
        nodes++;
        position--;
      }
      if (nodes % 2 === 1) {
        const last = at + (nodes - 1) * HASH_BYTES;
        frontier.set(src.subarray(last, last + HASH_BYTES), slot);
      }
      const pairs = Math.floor(nodes / 2);
      if (pairs === 0) break;
      const dst = src === this.#levelA ? this.#levelB : this.#levelA;
      wasm.merkleLevelInto(
        src.subarray(at, at + pairs * 2 * HASH_BYTES),
        dst.subarray(HASH_BYTES, HASH_BYTES + pairs * HASH_BYTES),
      );
      src = dst;
      at = HASH_BYTES;
      nodes = pairs;
      position /= 2;
    }
    this.#size += count;
  }

  /** RFC 9162 §2.1.1 root of the current size: the frontier's nodes folded right to left. */
  #foldRoot(): Uint8Array {
    if (this.#size === 0) return emptyRoot();
    const pair = this.#pair;
    const frontier = this.#frontier;
    let root: Uint8Array | undefined;
    let s = this.#size;
    for (let level = 0; s > 0; level++, s = Math.floor(s / 2)) {
      if (s % 2 === 0) continue;
      const node = frontier.subarray(level * HASH_BYTES, (level + 1) * HASH_BYTES);
      if (root === undefined) {
        root = node.slice();
      } else {
        pair.set(node, 0);
        pair.set(root, HASH_BYTES);
        wasm.merkleLevelInto(pair, root);
      }
    }
    return root ?? emptyRoot();
  }
}

/**
 * Verify a whole log in one call: `chunks` yields the entries in sequence order (as the store's range
 * reads or a bundle's decoder produce them). See `LogVerifier` for the checks and codes.
 */
export function verifyLog(
  chunks: Iterable<readonly EntryToVerify[]>,
  options: LogVerifierOptions = {},
): TreeVerdict {
  const verifier = new LogVerifier(options);
  for (const chunk of chunks) if (verifier.push(chunk) !== undefined) break;
  return verifier.finish();
}

/**
 * A checkpoint's consistency with an older one without the entries (RFC 9162 §2.1.4.2), for a bundle
 * that carries proofs instead of every entry: undefined when `proof` shows that `newer` extends
 * `older`, else E_AUDIT_CONSISTENCY. Hostile values give the finding, never an exception.
 */
export function checkConsistency(
  older: CheckpointRoot,
  newer: CheckpointRoot,
  proof: readonly Uint8Array[],
): TreeFailure | undefined {
  if (verifyConsistencyProof(older?.size, newer?.size, proof, older?.root, newer?.root)) return undefined;
  return failure(
    'E_AUDIT_CONSISTENCY',
    `no valid consistency proof from size ${String(older?.size)} to size ${String(newer?.size)}`,
  );
}
