import { field, fieldErrors, outcome } from '../forms';
import { api } from '../api';
import type { PageContext } from '../context';
import { fmtDate, fmtNum, h } from '../dom';

interface Budget {
  scope: string;
  monthlyTokens: number | null;
  monthlyUsd: number | null;
  source: 'stored' | 'default' | 'none';
  usedTokens: number;
  usedUsd: number;
  usedTokensPct: number | null;
  usedUsdPct: number | null;
  updatedAt: string | null;
  updatedBy: string | null;
}

const SOURCE: Record<Budget['source'], string> = {
  stored: 'set in the console or API',
  default: 'the default (LLM_BUDGET_MONTHLY_* settings)',
  none: 'no limit',
};

/**
 * This month's LLM budgets (global, per agent, per provider) with what each has spent; an admin sets a scope's monthly
 * token and dollar limits in a labelled form (empty: no limit), with the API's validation errors shown by the field.
 */
export async function budgetsPage(ctx: PageContext): Promise<HTMLElement> {
  const status = outcome();
  const body = h('div', {});
  // The scope last chosen in the form, kept when the page is read again after a save.
  const chosen = { scope: 'global' };
  const show = async (): Promise<void> => {
    const { month, items } = await api<{ month: string; items: Budget[] }>('/token-usage/budgets');
    body.replaceChildren(
      h(
        'div',
        {},
        h(
          'p',
          { class: 'muted' },
          `Month ${month} (UTC). A call that would go over a limit is refused before it reaches the provider; the limits reset on the 1st.`,
        ),
        items.every((b) => b.source === 'none')
          ? h(
              'p',
              { class: 'empty' },
              'No budget is set: LLM spend is unlimited. ' +
                (ctx.can('admin') ? 'Set a global limit below to cap the month.' : 'An admin can set limits here.'),
            )
          : null,
        h(
          'table',
          { class: 'budgets' },
          h('caption', { class: 'sr-only' }, `Budgets and spend for ${month}`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['scope', 'tokens used', 'dollars used', 'limit from', 'last set'].map((x) =>
                h('th', { scope: 'col' }, x),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            items.map((b) =>
              h(
                'tr',
                { 'data-scope': b.scope },
                h('th', { scope: 'row' }, b.scope),
                h('td', {}, used(b.usedTokens, b.monthlyTokens, b.usedTokensPct, '')),
                h('td', {}, used(b.usedUsd, b.monthlyUsd, b.usedUsdPct, '$')),
                h('td', {}, SOURCE[b.source]),
                h('td', {}, b.updatedAt ? `${fmtDate(b.updatedAt)}${b.updatedBy ? ` by ${b.updatedBy}` : ''}` : '—'),
              ),
            ),
          ),
        ),
        ctx.can('admin')
          ? editForm(items, status, show, chosen)
          : h('p', { class: 'muted' }, 'Only an admin key can change the budgets.'),
      ),
    );
  };
  await show();
  return h('section', {}, h('h1', {}, 'Budgets'), status.el, body);
}

function used(value: number, limit: number | null, pct: number | null, unit: string): HTMLElement | string {
  const digits = unit === '$' ? 2 : 0;
  if (limit === null) return `${unit}${fmtNum(value, digits)} (no limit)`;
  const cls = value >= limit ? 'over' : pct !== null && pct >= 80 ? 'near' : 'ok';
  return h(
    'span',
    { class: `budget ${cls}` },
    h('meter', {
      min: 0,
      max: limit || 1,
      value: Math.min(value, limit),
      low: limit * 0.8,
      high: limit * 0.95,
      optimum: 0,
      'aria-label': `${pct ?? 0} % used`,
    }),
    ` ${unit}${fmtNum(value, digits)} of ${unit}${fmtNum(limit, digits)}${pct === null ? '' : ` (${pct} %)`}`,
  );
}

/** The admin's form: pick a scope (its current limits fill in), change them, save; errors stay by their fields. */
function editForm(
  items: Budget[],
  status: ReturnType<typeof outcome>,
  refresh: () => Promise<void>,
  chosen: { scope: string },
): HTMLElement {
  const scope = h(
    'select',
    { name: 'scope' },
    items.map((b) => h('option', { value: b.scope, selected: b.scope === chosen.scope }, b.scope)),
  );
  const tokens = h('input', {
    type: 'text',
    inputmode: 'numeric',
    name: 'monthlyTokens',
    autocomplete: 'off',
    size: 16,
  });
  const usd = h('input', { type: 'text', inputmode: 'decimal', name: 'monthlyUsd', autocomplete: 'off', size: 12 });
  const scopeField = field('Scope', scope, 'global, one agent or one provider');
  const tokensField = field('Monthly token limit', tokens, 'a whole number; empty for no limit');
  const usdField = field('Monthly dollar limit', usd, 'in US dollars; empty for no limit');
  const fill = () => {
    chosen.scope = scope.value;
    const b = items.find((x) => x.scope === scope.value);
    tokens.value = b?.source === 'stored' && b.monthlyTokens !== null ? String(b.monthlyTokens) : '';
    usd.value = b?.source === 'stored' && b.monthlyUsd !== null ? String(b.monthlyUsd) : '';
    tokensField.setError(null);
    usdField.setError(null);
  };
  scope.addEventListener('change', fill);
  fill();
  const save = h('button', { type: 'submit' }, 'Save budget');
  const form = h(
    'form',
    { class: 'budget-form', novalidate: true, 'aria-labelledby': 'budget-form-title' },
    h('h2', { id: 'budget-form-title' }, 'Set a budget'),
    scopeField.el,
    tokensField.el,
    usdField.el,
    h('div', { class: 'actions' }, save),
  );
  const number = (text: string): number | null | 'invalid' => {
    const t = text.trim().replace(/[_\s,]/g, '');
    if (t === '') return null;
    const n = Number(t);
    return Number.isFinite(n) ? n : 'invalid';
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    status.clear();
    const monthlyTokens = number(tokens.value);
    const monthlyUsd = number(usd.value);
    tokensField.setError(monthlyTokens === 'invalid' ? 'must be a number (or empty for no limit)' : null);
    usdField.setError(monthlyUsd === 'invalid' ? 'must be a number (or empty for no limit)' : null);
    if (monthlyTokens === 'invalid' || monthlyUsd === 'invalid') {
      (monthlyTokens === 'invalid' ? tokens : usd).focus();
      return;
    }
    save.disabled = true;
    const target = scope.value;
    void api(`/token-usage/budgets/${encodeURIComponent(target)}`, {
      method: 'PUT',
      body: { monthlyTokens, monthlyUsd },
    }).then(
      async () => {
        await refresh();
        status.done(
          `Saved the budget of ${target}: ${monthlyTokens === null ? 'no token limit' : `${fmtNum(monthlyTokens)} tokens`}, ${monthlyUsd === null ? 'no dollar limit' : `$${fmtNum(monthlyUsd, 2)}`} a month.`,
        );
      },
      (err: unknown) => {
        save.disabled = false;
        const byField = fieldErrors(err);
        tokensField.setError(byField.get('monthlyTokens') ?? null);
        usdField.setError(byField.get('monthlyUsd') ?? null);
        status.failed(err);
        if (byField.has('monthlyTokens')) tokens.focus();
        else if (byField.has('monthlyUsd')) usd.focus();
      },
    );
  });
  return form;
}
