// Domains: addon domains, subdomains, parked domains and redirects. On the user
// portal, the caller's own account; on the admin portal, the account the address
// names (#/domains?user=NAME), chosen from a list.
(function () {
  'use strict';
  const { el, api } = HS;

  const KINDS = { main: 'Main', addon: 'Addon', sub: 'Subdomain', parked: 'Parked' };

  function nameCell(d) {
    if (d.display && d.display !== d.domain) {
      return [el('strong', null, d.display), el('span', { class: 'muted' }, ' ' + d.domain)];
    }
    return el('strong', null, d.domain);
  }

  function servesCell(d) {
    if (d.redirect) {
      return [el('span', { class: 'badge' }, String(d.redirect_status || 301)), ' → ', el('code', { class: 'url' }, d.redirect)];
    }
    if (d.type === 'parked') return ['same site as ', d.target];
    return d.docroot ? el('code', null, '~/' + d.docroot) : '';
  }

  // The account the page acts on: nothing to add on the user port.


  function rowActions(d, ctx, scope) {
    const done = (...text) => {
      ctx.notify(HS.okBox(...text));
      ctx.reload();
    };
    const data = (action) => ({ 'data-action': action, 'data-domain': d.domain });
    const buttons = [];
    if (d.redirect) {
      buttons.push(
        HS.button('Remove redirect', { ...data('unredirect'), 'aria-label': 'Remove the redirect of ' + d.domain }, async (event) => {
          const pressed = event.currentTarget;
          pressed.disabled = true;
          try {
            await api('domain/remove_redirect', { ...scope, domain: d.domain });
            done(d.domain, ' serves its website again.');
          } catch (error) {
            pressed.disabled = false;
            ctx.notify(HS.errorBox(error));
          }
        }),
      );
    } else {
      buttons.push(
        HS.button('Redirect…', { ...data('redirect'), 'aria-label': 'Redirect ' + d.domain }, () =>
          HS.dialog({
            name: 'redirect',
            title: 'Redirect ' + d.domain,
            text: 'Visitors are sent to this address instead of the website.',
            fields: [
              { name: 'url', label: 'To the URL', type: 'url', required: true, placeholder: 'https://example.com/' },
              {
                name: 'status',
                label: 'Kind',
                options: [
                  { value: '301', label: '301 — moved for good' },
                  { value: '302', label: '302 — for now' },
                ],
                value: '301',
              },
            ],
            submit: 'Redirect',
            run: async (v) => {
              await api('domain/redirect', { ...scope, domain: d.domain, url: v.url.trim(), status: Number(v.status) });
              done(d.domain, ' now redirects to ', el('code', null, v.url.trim()), '.');
            },
          }),
        ),
      );
    }
    if (d.type !== 'main') {
      buttons.push(
        HS.button('Delete…', { ...data('delete'), class: 'small danger', 'aria-label': 'Delete ' + d.domain }, () =>
          HS.dialog({
            name: 'delete-domain',
            title: 'Delete ' + d.domain,
            text: 'The panel stops hosting this name. Its files stay in the home folder.',
            submit: 'Delete',
            danger: true,
            run: async () => {
              await api('domain/delete', { ...scope, domain: d.domain });
              done(d.domain, ' was deleted.');
            },
          }),
        ),
      );
    }
    return el('div', { class: 'row-actions' }, buttons);
  }

  function addForms(ctx, scope, domains) {
    const sites = domains.filter((d) => d.type === 'main' || d.type === 'addon');
    const siteOptions = sites.map((d) => ({ value: d.domain, label: d.display || d.domain }));
    const added = (what) => (view) => {
      ctx.notify(HS.okBox(what, ' ', el('strong', null, view.domain), ' added.'));
      ctx.reload();
    };

    const addon = HS.form({
      name: 'add-addon',
      submit: 'Add domain',
      fields: [{ name: 'domain', label: 'Domain name', required: true, placeholder: 'shop.example' }],
      async onsubmit(v) {
        added('Addon domain')(await api('domain/add', { ...scope, domain: v.domain.trim() }));
      },
    });
    const sub = HS.form({
      name: 'add-subdomain',
      submit: 'Add subdomain',
      fields: [
        { name: 'subdomain', label: 'Subdomain', required: true, placeholder: 'blog', hint: 'One label: letters, digits and hyphens.' },
        { name: 'domain', label: 'Of the domain', options: siteOptions },
      ],
      async onsubmit(v) {
        const body = { ...scope, domain: v.domain, subdomain: v.subdomain.trim() };
        added('Subdomain')(await api('domain/add_subdomain', body));
      },
    });
    const park = HS.form({
      name: 'park',
      submit: 'Park domain',
      fields: [
        { name: 'domain', label: 'Domain name', required: true, placeholder: 'other-name.example' },
        { name: 'target', label: 'Shows the site of', options: siteOptions },
      ],
      async onsubmit(v) {
        added('Parked domain')(await api('domain/park', { ...scope, domain: v.domain.trim(), target: v.target }));
      },
    });
    return el(
      'div',
      { class: 'cards' },
      HS.card('Add an addon domain', el('p', { class: 'muted' }, 'A website of its own, in its own folder.'), addon),
      HS.card('Add a subdomain', sub),
      HS.card('Park a domain', el('p', { class: 'muted' }, 'Another name for an existing website.'), park),
    );
  }

  async function render(view, ctx) {
    const scope = HS.accountScope(ctx);
    const admin = ctx.me.portal === 'admin';
    if (admin && !scope.username) {
      const { accounts } = await api('account/list');
      view.append(HS.card('Whose domains?', HS.accountPicker(ctx, accounts, '')));
      return;
    }
    const [list, accounts] = await Promise.all([
      api('domain/list', scope),
      admin ? api('account/list') : Promise.resolve(null),
    ]);
    if (accounts) view.append(el('div', { class: 'picker' }, HS.accountPicker(ctx, accounts.accounts, scope.username)));
    view.append(
      HS.table({
        rows: list.domains,
        key: (d) => d.domain,
        class: 'domains',
        caption: admin ? 'Domains of ' + list.username : null,
        columns: [
          { label: 'Domain', cell: nameCell },
          { label: 'Type', cell: (d) => (KINDS[d.type] || d.type) + (d.type === 'sub' && d.target ? ' of ' + d.target : '') },
          { label: 'Serves', cell: servesCell },
          { label: 'Actions', cell: (d) => rowActions(d, ctx, scope), class: 'actions-cell' },
        ],
      }),
      addForms(ctx, scope, list.domains),
    );
  }

  HS.page({ id: 'domains', title: 'Domains', order: 20, portals: ['admin', 'user'], render });
})();
