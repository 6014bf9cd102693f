/**
 * The retention step PartnerState's evidence tables share (policy_decisions, screening_results):
 * delete, oldest first, at most `batchRowsMax` rows recorded before `cutoffMs`, so one alarm never
 * holds the object for long. `table` is one of this folder's own table names, never input.
 */
export type EvidenceTable = 'policy_decisions' | 'screening_results';

export function pruneEvidenceRows(sql: SqlStorage, table: EvidenceTable, cutoffMs: number, batchRowsMax: number): number {
  return sql.exec(`DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE at_ms < ? ORDER BY id LIMIT ?)`, cutoffMs, batchRowsMax).rowsWritten;
}

/**
 * Inserts between two row-cap checks of an evidence table: the cap's DELETE runs on every
 * `evidenceRowCapCheckEveryRows`-th id instead of on every insert, so a table may hold up to that
 * many rows more than its cap for a while. Paid per admission twice (decision, screening); the
 * bound on a flooding partner's object stays.
 */
export const evidenceRowCapCheckEveryRows = 64;

/** Deletes the rows beyond `rowsMax` (the oldest ids) when `id` is a check point; see above. */
export function capEvidenceRows(sql: SqlStorage, table: EvidenceTable, id: number, rowsMax: number): void {
  if (id % evidenceRowCapCheckEveryRows !== 0) return;
  sql.exec(`DELETE FROM ${table} WHERE id <= ?`, id - rowsMax);
}
