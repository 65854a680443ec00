import { ConflictError } from '@platform/http';

/** An invoice's life: `draft` (editable) -> `open` (sent, payable) -> `paid`; `draft` or `open` -> `void`. */
export type InvoiceStatus = 'draft' | 'open' | 'paid' | 'void';

const NEXT: Record<InvoiceStatus, readonly InvoiceStatus[]> = {
  draft: ['open', 'void'],
  open: ['paid', 'void'],
  paid: [],
  void: [],
};

/** The states an invoice may move to `to` from. */
export function statesAllowing(to: InvoiceStatus): InvoiceStatus[] {
  return (Object.keys(NEXT) as InvoiceStatus[]).filter((from) => NEXT[from].includes(to));
}

/**
 * @throws ConflictError 409 `invalid_transition` (with `from` and `to`) when the state machine
 *   does not allow it, e.g. paying a draft or reopening a void invoice
 */
export function assertTransition(from: InvoiceStatus, to: InvoiceStatus): void {
  if (!NEXT[from].includes(to)) {
    throw new ConflictError('invalid_transition', `An invoice that is ${from} cannot become ${to}.`, { from, to });
  }
}
