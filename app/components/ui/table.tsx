/**
 * Tremor's table, wrapped so every table has a caption (its accessible name) and scrolls sideways on a phone
 * instead of squeezing its columns.
 */
import { Table, TableBody, TableCell, TableHead, TableHeaderCell, TableRow } from "@tremor/react";
import type { ReactNode } from "react";

export { TableBody, TableCell, TableRow };

export function DataTable({ caption, columns, children }: { caption: string; columns: ReactNode[]; children: ReactNode }) {
  return (
    <div>
      <div className="rounded-xl border border-gray-200 bg-white shadow-sm">
        {/* relative: the scroll box is then the containing block of the sr-only (absolute) caption and headers, so
            they cannot stretch the page sideways on a phone. */}
        <Table className="relative">
          <caption className="sr-only">{caption}</caption>
          <TableHead>
            <TableRow>
              {columns.map((c, i) => (
                <TableHeaderCell key={i} className="whitespace-nowrap bg-gray-50 text-xs uppercase tracking-wide text-gray-600">
                  {c}
                </TableHeaderCell>
              ))}
            </TableRow>
          </TableHead>
          <TableBody>{children}</TableBody>
        </Table>
      </div>
      <p className="mt-1 text-xs text-gray-500 sm:hidden">Swipe the table sideways to see every column.</p>
    </div>
  );
}
