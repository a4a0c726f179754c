// SSL: each domain's certificate (issuer, serial, expiry, how it came, the last
// failed renewal), AutoSSL, renew, delete, and a form to install one's own. On
// the user portal, the caller's own account; on the admin portal, the account
// the address names (#/ssl?user=NAME), chosen from a list like the domains page.
(function () {
  'use strict';
  const { el, api } = HS;

  const SOURCES = { self_signed: 'Self-signed', installed: 'Installed', acme: 'AutoSSL' };



  function expiryCell(c) {
    const text = c.not_after.slice(0, 10) + ' (' + c.days_left + ' days)';
    const cell = [el('span', { class: c.days_left < 30 ? 'badge bad' : '' }, text)];
    if (c.last_error) {
      cell.push(el('p', { class: 'notice error' }, 'Last renewal failed: ' + c.last_error.message));
    }
    return cell;
  }

  function rowActions(c, ctx, scope) {
    const run = (label, action, what) =>
      HS.button(label, { 'data-action': action, 'data-domain': c.domain, 'aria-label': label + ' ' + c.domain }, async (event) => {
        const pressed = event.currentTarget;
        pressed.disabled = true;
        try {
          if (action === 'autossl') {
            // The order runs in hs-taskd; its progress is shown live.
            const job = await api('ssl/autossl', { ...scope, domain: c.domain, background: true });
            ctx.notify(HS.jobNotice(job, 'AutoSSL for ' + c.domain, () => ctx.reload()));
            return;
          }
          await api('ssl/' + action, { ...scope, domain: c.domain });
          ctx.notify(HS.okBox(c.domain, what));
          ctx.reload();
        } catch (error) {
          pressed.disabled = false;
          ctx.notify(HS.errorBox(error));
          ctx.reload();
        }
      });
    const buttons = [run('AutoSSL', 'autossl', ' has a certificate from the CA.'), run('Renew', 'renew', ' was renewed.')];
    if (c.source !== 'self_signed') buttons.push(run('Delete', 'delete', ' is back on a self-signed certificate.'));
    return el('div', { class: 'row-actions' }, buttons);
  }

  function installForm(ctx, scope) {
    return HS.form({
      name: 'install-cert',
      submit: 'Install certificate',
      fields: [
        { name: 'domain', label: 'Domain', required: true, placeholder: 'example.com or *.example.com' },
        { name: 'cert', label: 'Certificate (PEM)', type: 'textarea', required: true },
        { name: 'key', label: 'Private key (PEM)', type: 'textarea', required: true },
        { name: 'chain', label: 'Chain (PEM, optional)', type: 'textarea' },
      ],
      async onsubmit(v) {
        const body = { ...scope, domain: v.domain.trim(), cert: v.cert, key: v.key };
        if (v.chain.trim() !== '') body.chain = v.chain;
        const view = await api('ssl/install', body);
        ctx.notify(HS.okBox('Certificate for ', el('strong', null, view.domain), ' installed.'));
        ctx.reload();
      },
    });
  }

  async function render(view, ctx) {
    const scope = HS.accountScope(ctx);
    const admin = ctx.me.portal === 'admin';
    if (admin && !scope.username) {
      const { accounts } = await api('account/list');
      view.append(HS.card('Whose certificates?', HS.accountPicker(ctx, accounts, '')));
      return;
    }
    const [list, accounts] = await Promise.all([
      api('ssl/list', scope),
      admin ? api('account/list') : Promise.resolve(null),
    ]);
    if (accounts) view.append(el('div', { class: 'picker' }, HS.accountPicker(ctx, accounts.accounts, scope.username)));
    view.append(
      HS.table({
        rows: list.certificates,
        key: (c) => c.domain,
        class: 'certificates',
        empty: 'No certificates yet.',
        columns: [
          { label: 'Domain', cell: (c) => el('strong', null, c.domain) },
          { label: 'Source', cell: (c) => SOURCES[c.source] || c.source },
          { label: 'Issuer', cell: (c) => c.issuer },
          { label: 'Serial', cell: (c) => el('code', null, c.serial) },
          { label: 'Expires', cell: expiryCell },
          { label: 'Actions', cell: (c) => rowActions(c, ctx, scope), class: 'actions-cell' },
        ],
      }),
      HS.card('Install your own certificate', installForm(ctx, scope)),
    );
  }

  HS.page({ id: 'ssl', title: 'SSL', order: 29, portals: ['admin', 'user'], render });
})();
