// Result tables shared by the benchmarks: aligned text for the terminal, Markdown for bench/results.

export interface Column<R> {
  title: string;
  value: (row: R) => string;
  /** Right-aligned (numbers). */
  right?: boolean;
}

export function textTable<R>(columns: Array<Column<R>>, rows: R[]): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row)));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((line) => line[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => (columns[i]!.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ');
  return [line(columns.map((c) => c.title)), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

export function markdownTable<R>(columns: Array<Column<R>>, rows: R[]): string {
  const header = `| ${columns.map((c) => c.title).join(' | ')} |`;
  const align = `| ${columns.map((c) => (c.right ? '---:' : '---')).join(' | ')} |`;
  return [header, align, ...rows.map((row) => `| ${columns.map((c) => c.value(row)).join(' | ')} |`)].join('\n');
}
