// Password and API tokens: change your own password (which ends every session),
// and create, list and revoke named API tokens for automation.
(function () {
  'use strict';
  const { el, api } = HS;

  function passwordForm() {
    return HS.form({
      name: 'change-password',
      submit: 'Change password',
      fields: [
        { name: 'current_password', label: 'Current password', type: 'password', required: true, autocomplete: 'current-password' },
        { name: 'new_password', label: 'New password', type: 'password', required: true, autocomplete: 'new-password', hint: 'At least 8 characters of 3 kinds, or 16 of any.' },
        { name: 'repeat', label: 'New password again', type: 'password', required: true, autocomplete: 'new-password' },
      ],
      async onsubmit(v) {
        if (v.new_password !== v.repeat) throw new Error('The two new passwords differ.');
        await api('auth/change_password', { current_password: v.current_password, new_password: v.new_password });
        HS.loggedOut('Your password was changed and every session ended. Log in with the new password.');
      },
    });
  }

  // The secret is shown once, here, and nowhere else.
  function revealed(token) {
    const id = 'new-token';
    const output = el('input', { id, class: 'secret', readonly: true, value: token.token, spellcheck: 'false' });
    const copy = HS.button('Copy', { class: 'small secondary' }, async () => {
      output.select();
      try {
        await navigator.clipboard.writeText(output.value);
        copy.textContent = 'Copied';
      } catch (e) {
        copy.textContent = 'Press Ctrl+C';
      }
    });
    return HS.okBox(
      el('p', null, 'Token ', el('strong', null, token.info.name), ' created. Copy it now: it is not shown again.'),
      el('div', { class: 'reveal' }, el('label', { for: id }, 'Token'), output, copy),
    );
  }

  function tokenForm(ctx) {
    return HS.form({
      name: 'create-token',
      submit: 'Create token',
      fields: [
        { name: 'name', label: 'Name', required: true, hint: 'Letters, digits, spaces, _ . and -.' },
        { name: 'allowed_ips', label: 'Works only from (optional)', placeholder: '192.0.2.10, 2001:db8::1', hint: 'Addresses separated by commas or spaces; blank: anywhere.' },
        { name: 'expires_in_days', label: 'Expires after days (optional)', type: 'number', min: 1, inputmode: 'numeric' },
      ],
      async onsubmit(v, form) {
        const body = { name: v.name.trim() };
        const ips = v.allowed_ips.split(/[\s,]+/).filter(Boolean);
        if (ips.length) body.allowed_ips = ips;
        if (v.expires_in_days.trim()) body.expires_in_days = Number(v.expires_in_days);
        const made = await api('auth/token_create', body);
        form.reset();
        ctx.notify(revealed(made));
        ctx.reload();
      },
    });
  }

  function revoke(ctx, t) {
    return HS.button('Revoke…', { class: 'small danger', 'data-action': 'revoke', 'data-token': t.name, 'aria-label': 'Revoke ' + t.name }, () =>
      HS.dialog({
        name: 'revoke-token',
        title: 'Revoke ' + t.name,
        text: 'Programs using this token lose access at once.',
        submit: 'Revoke',
        danger: true,
        run: async () => {
          await api('auth/token_revoke', { name: t.name });
          ctx.notify(HS.okBox('Token ', el('strong', null, t.name), ' revoked.'));
          ctx.reload();
        },
      }),
    );
  }

  async function render(view, ctx) {
    const { tokens } = await api('auth/token_list');
    view.append(
      el(
        'div',
        { class: 'cards' },
        HS.card('Change your password', passwordForm()),
        HS.card('New API token', el('p', { class: 'muted' }, 'For scripts: send it as "Authorization: Bearer …".'), tokenForm(ctx)),
      ),
      HS.card(
        'API tokens',
        HS.table({
          rows: tokens,
          key: (t) => t.name,
          class: 'tokens',
          empty: 'No API tokens yet.',
          columns: [
            { label: 'Name', cell: (t) => el('strong', null, t.name) },
            { label: 'Created', cell: (t) => HS.when(t.created) },
            { label: 'Expires', cell: (t) => HS.when(t.expires) },
            { label: 'Works from', cell: (t) => (t.allowed_ips.length ? t.allowed_ips.join(', ') : 'anywhere') },
            { label: 'Actions', cell: (t) => revoke(ctx, t), class: 'actions-cell' },
          ],
        }),
      ),
    );
  }

  HS.page({ id: 'security', title: 'Password & tokens', order: 90, portals: ['admin', 'user'], render });
})();
