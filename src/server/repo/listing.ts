/** A page request already validated: ORDER BY terms come only from fixed whitelists, never from the query text. */
export interface Page {
  offset: number;
  limit: number;
  orderBy: string;
}

export interface PageResult<T> {
  rows: T[];
  totalCount: number;
}

/** Reads `total_count` (a `count(*) OVER ()` column) off the rows, falling back to a count query past the end. */
export async function withTotal<T extends { total_count?: string | number }>(
  rows: T[],
  offset: number,
  count: () => Promise<number>,
): Promise<PageResult<T>> {
  const first = rows[0];
  if (first) return { rows, totalCount: Number(first.total_count) };
  return { rows, totalCount: offset > 0 ? await count() : 0 };
}
