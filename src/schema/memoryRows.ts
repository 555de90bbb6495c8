/**
 * A Tool answered from the in-memory catalog: its row holds every column, the capabilities with their
 * patterns and the capability count, which is all the planned query can ask for there (fields beyond
 * those, such as executionStats, are loaded by their own resolvers). Marks the plan as used, since no
 * ORM call is made with it.
 */
export function answeredFromMemory<T>(query: object, row: T): T {
  (query as Record<symbol, boolean>)[Symbol.for('Pothos.isUsed')] = true;
  return row;
}
