import type { Page } from '../api';
import { h } from '../dom';

/** Newer/older links over a paginated list (`?offset=` in the hash, next to the page's own filters). */
export function pager(
  base: string,
  page: Page<unknown>['page'],
  filters: URLSearchParams = new URLSearchParams(),
): HTMLElement {
  const link = (offset: number, text: string) => {
    const q = new URLSearchParams(filters);
    q.set('offset', String(offset));
    return h('a', { href: `${base}?${q.toString()}` }, text);
  };
  const end = Math.min(page.offset + page.limit, page.total);
  return h(
    'p',
    { class: 'pager' },
    page.offset > 0 ? link(Math.max(0, page.offset - page.limit), '← newer') : null,
    ` ${page.total === 0 ? 0 : page.offset + 1}–${end} of ${page.total} `,
    end < page.total ? link(end, 'older →') : null,
  );
}
