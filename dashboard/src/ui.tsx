/** The page's building blocks: panels, figures, tables and the loading and error states. */
import type { ReactNode } from 'react';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { Loaded } from './api';
import { tick } from './format';

export function Panel({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="panel" aria-label={title}>
      <header><h2>{title}</h2>{actions}</header>
      {children}
    </section>
  );
}

export function Figure({ label, value, note }: { label: string; value: string; note?: string }) {
  return (
    <div className="figure" data-figure={label}>
      <div className="label">{label}</div>
      <div className="value">{value}</div>
      {note ? <div className="note">{note}</div> : null}
    </div>
  );
}

export interface Column<T> {
  readonly title: string;
  readonly cell: (row: T) => ReactNode;
  readonly numeric?: boolean;
}

export function Table<T>({ rows, columns, empty, onRow, label }: { rows: readonly T[]; columns: readonly Column<T>[]; empty?: string; onRow?: ((row: T) => void) | undefined; label?: string }) {
  if (!rows.length) return <p className="empty">{empty ?? 'Nothing in this period.'}</p>;
  return (
    <table aria-label={label}>
      <thead><tr>{columns.map((c) => <th key={c.title} className={c.numeric ? 'num' : undefined}>{c.title}</th>)}</tr></thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={i} onClick={onRow ? () => onRow(r) : undefined} className={onRow ? 'link' : undefined}>
            {columns.map((c) => <td key={c.title} className={c.numeric ? 'num' : undefined}>{c.cell(r)}</td>)}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Renders a loaded value, or says it is loading, or shows the API's error. */
export function Show<T>({ loaded, children }: { loaded: Loaded<T>; children: (data: T) => ReactNode }) {
  if (loaded.error) return <p className="error" role="alert">{loaded.error.message} <code>{loaded.error.code}</code></p>;
  if (loaded.data === undefined) return <p className="loading">Loading…</p>;
  return <>{children(loaded.data)}</>;
}

/** One series of bars, one per item: the charts that compare one figure across agents, workflows... */
export function Bars({ data, name, fill }: { data: readonly { label: string; value: number }[]; name: string; fill: string }) {
  return (
    <ResponsiveContainer width="100%" height={220}>
      <BarChart data={[...data]}>
        <CartesianGrid strokeDasharray="3 3" /><XAxis dataKey="label" /><YAxis tickFormatter={tick} /><Tooltip />
        <Bar dataKey="value" name={name} fill={fill} />
      </BarChart>
    </ResponsiveContainer>
  );
}

export const COLOURS = ['#2563eb', '#16a34a', '#ea580c', '#9333ea', '#0891b2', '#dc2626', '#ca8a04', '#4f46e5', '#059669', '#db2777'];
