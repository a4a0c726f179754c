// Resellers (admin portal): the accounts that sell hosting themselves, how many
// accounts each owns against its cap, and the cap itself; creating one.
(function () {
  'use strict';
  const { el, api } = HS;

  function capCell(r) {
    return r.max_accounts === undefined ? el('span', { class: 'muted' }, 'no cap') : String(r.max_accounts);
  }

  function ownedCell(r, owned) {
    const count = owned.get(r.username) || 0;
    const full = r.max_accounts !== undefined && count >= r.max_accounts;
    return el('span', { class: full ? 'badge bad' : 'badge good' }, String(count));
  }

  function capButton(ctx, r) {
    const user = r.username;
    return HS.button('Cap…', { 'data-action': 'cap', 'data-user': user, 'aria-label': 'Change how many accounts ' + user + ' may own' }, () =>
      HS.dialog({
        name: 'reseller-cap',
        title: 'Accounts ' + user + ' may own',
        text: 'Leave it blank for no cap. A cap below what it owns now only stops new accounts.',
        fields: [{ name: 'max_accounts', label: 'Most accounts', type: 'number', min: 0, inputmode: 'numeric', placeholder: 'no cap', value: r.max_accounts === undefined ? '' : String(r.max_accounts) }],
        submit: 'Save',
        run: async (v) => {
          const body = { username: user };
          if (v.max_accounts.trim() !== '') body.max_accounts = Number(v.max_accounts);
          await api('account/set_reseller_limit', body);
          ctx.notify(HS.okBox('The cap of ', el('strong', null, user), ' was saved.'));
          ctx.reload();
        },
      }),
    );
  }

  function createForm(ctx, planOptions) {
    return HS.form({
      name: 'create-reseller',
      submit: 'Create reseller',
      grid: true,
      fields: [
        { name: 'username', label: 'Username', required: true, hint: 'Lowercase letters and digits, starting with a letter; at most 16.' },
        { name: 'domain', label: 'Main domain', required: true, placeholder: 'example.com' },
        { name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'new-password' },
        { name: 'plan', label: 'Plan', options: planOptions, value: 'default' },
        { name: 'max_accounts', label: 'Most accounts', type: 'number', min: 0, inputmode: 'numeric', placeholder: 'no cap' },
      ],
      async onsubmit(v, form) {
        const body = { username: v.username.trim(), domain: v.domain.trim(), password: v.password, plan: v.plan, reseller: true };
        if (v.max_accounts.trim() !== '') body.max_accounts = Number(v.max_accounts);
        const made = await api('account/create', body);
        form.reset();
        ctx.notify(HS.okBox('Reseller ', el('strong', null, made.username), ' created.'));
        ctx.reload();
      },
    });
  }

  async function render(view, ctx) {
    const [data, plans] = await Promise.all([api('account/list'), api('plan/list')]);
    const planOptions = plans.plans.map((p) => ({ value: p.name, label: p.name }));
    const resellers = data.accounts.filter((a) => a.role === 'reseller').sort((a, b) => a.username.localeCompare(b.username));
    const owned = new Map();
    for (const a of data.accounts) owned.set(a.owner, (owned.get(a.owner) || 0) + 1);

    const create = el('details', { class: 'card create' }, el('summary', null, 'Create a reseller'), createForm(ctx, planOptions));
    if (!resellers.length) create.open = true;
    const accountsOf = (r) => el('a', { class: 'button small secondary', href: '#/accounts?q=' + encodeURIComponent(r.username) }, 'Accounts');
    view.append(
      create,
      HS.table({
        rows: resellers,
        key: (r) => r.username,
        class: 'resellers',
        empty: 'No resellers yet.',
        columns: [
          { label: 'Reseller', cell: (r) => el('strong', null, r.username) },
          { label: 'Domain', cell: (r) => r.domain },
          { label: 'Accounts owned', cell: (r) => ownedCell(r, owned) },
          { label: 'Cap', cell: capCell },
          { label: 'Status', cell: (r) => (r.suspended ? el('span', { class: 'badge bad' }, 'Suspended') : el('span', { class: 'badge good' }, 'Active')) },
          { label: 'Actions', cell: (r) => el('div', { class: 'row-actions' }, accountsOf(r), capButton(ctx, r)), class: 'actions-cell' },
        ],
      }),
    );
  }

  HS.page({ id: 'resellers', title: 'Resellers', order: 12, portals: ['admin'], roles: ['admin'], render });
})();
