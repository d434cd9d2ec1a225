// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/audit/schedule
 *
 * When the audit log is due a checkpoint (`[audit] checkpoint_entries` and `checkpoint_interval`). Apart
 * from log.ts, which makes checkpoints, so that an appender (`execgate exec`) can ask without loading
 * the checkpoint and tree code, which it needs only once per `checkpoint_entries`.
 */
import { decodeEntry } from './entry.js';
import type { AuditStore } from './store.js';

/** When checkpoints are due (`[audit] checkpoint_entries` and `checkpoint_interval`). */
export interface CheckpointSchedule {
  /** Due once this many entries are not covered by the newest checkpoint. */
  readonly entries: number;
  /** Due once the oldest entry not covered is this old, in seconds. */
  readonly intervalSeconds: number;
}

/**
 * Whether a checkpoint is due in `store` by `schedule` at `now` (ms): entries exist past the newest
 * checkpoint, and either `entries` of them or the oldest of them is `intervalSeconds` old. An oldest
 * entry that does not decode counts as due (checkpointing then refuses the log, loudly).
 */
export function checkpointDue(store: AuditStore, schedule: CheckpointSchedule, now = Date.now()): boolean {
  const covered = store.latestCheckpoint()?.size ?? 0;
  const pending = store.size() - covered;
  if (pending <= 0) return false;
  if (pending >= schedule.entries) return true;
  const oldest = store.entry(covered);
  if (oldest === undefined) return true;
  try {
    return decodeEntry(oldest.bytes).time <= now - schedule.intervalSeconds * 1000;
  } catch {
    return true;
  }
}
