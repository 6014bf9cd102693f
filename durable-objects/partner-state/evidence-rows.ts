/**
 * The retention step PartnerState's evidence tables share (policy_decisions, screening_results):
 * delete, oldest first, at most `batchRowsMax` rows recorded before `cutoffMs`, so one alarm never
 * holds the object for long. `table` is one of this folder's own table names, never input.
 */
export type EvidenceTable = 'policy_decisions' | 'screening_results';

export function pruneEvidenceRows(sql: SqlStorage, table: EvidenceTable, cutoffMs: number, batchRowsMax: number): number {
  return sql.exec(`DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE at_ms < ? ORDER BY id LIMIT ?)`, cutoffMs, batchRowsMax).rowsWritten;
}
