// Mail: the account's mailboxes (usage against quota, spam threshold,
// autoresponder), forwarders and catch-alls; create, change password or quota,
// set or remove an autoresponder, delete. On the user portal, the caller's own
// account; on the admin portal, the account the address names
// (#/mail?user=NAME), chosen from a list like the databases page.
(function () {
  'use strict';
  const { el, api } = HS;




  function list(text) {
    return text.split(/[\s,]+/).filter(Boolean);
  }

  function mailboxActions(ctx, a) {
    const props = (action, label) => ({ class: 'small secondary', 'data-action': action, 'data-name': a.email, 'aria-label': label + ' ' + a.email });
    const password = HS.button('Password…', props('password', 'Change the password of'), () =>
      HS.dialog({
        name: 'mail-password',
        title: 'New password for ' + a.email,
        fields: [{ name: 'password', label: 'New password', type: 'password', required: true, autocomplete: 'new-password' }],
        submit: 'Change password',
        run: async (v) => {
          await api('mail/change_password', { email: a.email, password: v.password });
          ctx.notify(HS.okBox('The password of ', a.email, ' was changed.'));
        },
      }),
    );
    const quota = HS.button('Quota…', props('quota', 'Change the quota of'), () =>
      HS.dialog({
        name: 'mail-quota',
        title: 'Quota and spam threshold of ' + a.email,
        fields: [
          { name: 'quota', label: 'Quota', value: a.quota, required: true, hint: 'Like 1024M or 2G, or unlimited.' },
          { name: 'spam', label: 'Spam threshold', value: a.spam_threshold, required: true, hint: 'Mail scoring this much or more goes to Junk (SpamAssassin; 5 is usual).' },
        ],
        submit: 'Save',
        run: async (v) => {
          await api('mail/set_quota', { email: a.email, quota: v.quota.trim() });
          await api('mail/set_spam_threshold', { email: a.email, spam_threshold: v.spam.trim() });
          ctx.notify(HS.okBox('Saved for ', a.email, '.'));
          ctx.reload();
        },
      }),
    );
    const auto = a.autoresponder;
    const responder = HS.button(auto ? 'Autoresponder…' : 'Set autoresponder…', props('autoresponder', 'Autoresponder of'), () =>
      HS.dialog({
        name: 'mail-autoresponder',
        title: 'Autoresponder of ' + a.email,
        text: 'One reply per sender per interval; lists and bounces never get one.',
        fields: [
          { name: 'subject', label: 'Subject', required: true, value: auto ? auto.subject : 'Out of office' },
          { name: 'body', label: 'Message', type: 'textarea', rows: 6, required: true, value: auto ? auto.body : '' },
          { name: 'start', label: 'From (optional)', type: 'date', value: auto && auto.start ? auto.start : '' },
          { name: 'end', label: 'Until (optional)', type: 'date', value: auto && auto.end ? auto.end : '' },
          { name: 'interval', label: 'Hours between replies to one sender', type: 'number', min: 1, max: 8760, value: auto ? String(auto.interval) : '24' },
        ],
        submit: 'Save',
        run: async (v) => {
          await api('mail/set_autoresponder', {
            email: a.email,
            subject: v.subject,
            body: v.body,
            start: v.start || null,
            end: v.end || null,
            interval: parseInt(v.interval, 10) || 24,
          });
          ctx.notify(HS.okBox('The autoresponder of ', a.email, ' is on.'));
          ctx.reload();
        },
      }),
    );
    const stop = auto
      ? HS.button('Stop autoresponder', props('stop-autoresponder', 'Stop the autoresponder of'), async () => {
        await api('mail/delete_autoresponder', { email: a.email });
        ctx.notify(HS.okBox('The autoresponder of ', a.email, ' is off.'));
        ctx.reload();
      })
      : null;
    const remove = HS.button('Delete…', { ...props('delete', 'Delete the mailbox'), class: 'small danger' }, () =>
      HS.dialog({
        name: 'mail-delete',
        title: 'Delete the mailbox ' + a.email,
        text: 'Its mail is deleted with it. This cannot be undone.',
        fields: [{ name: 'confirm', label: 'Type the address to confirm', required: true }],
        submit: 'Delete',
        danger: true,
        run: async (v) => {
          if (v.confirm.trim().toLowerCase() !== a.email) throw new Error('The address you typed does not match.');
          await api('mail/delete_account', { email: a.email });
          ctx.notify(HS.okBox('The mailbox ', a.email, ' was deleted.'));
          ctx.reload();
        },
      }),
    );
    return el('div', { class: 'row-actions' }, password, quota, responder, stop, remove);
  }

  function mailboxesTable(ctx, data) {
    return HS.table({
      rows: data.accounts,
      key: (a) => a.email,
      class: 'mailboxes',
      caption: 'Mailboxes',
      empty: 'No mailboxes yet.',
      columns: [
        { label: 'Address', cell: (a) => el('code', { class: 'name' }, a.email) },
        { label: 'Used', cell: (a) => HS.bytes(a.usage) + ' of ' + a.quota, class: 'num' },
        { label: 'Spam from', cell: (a) => a.spam_threshold, class: 'num' },
        { label: 'Autoresponder', cell: (a) => (a.autoresponder ? a.autoresponder.subject : '—') },
        { label: 'Actions', class: 'actions-cell', cell: (a) => mailboxActions(ctx, a) },
      ],
    });
  }

  function forwardersTable(ctx, data) {
    return HS.table({
      rows: data.forwarders,
      key: (f) => f.source,
      class: 'forwarders',
      caption: 'Forwarders',
      empty: 'No forwarders yet.',
      columns: [
        { label: 'Address', cell: (f) => el('code', null, f.source) },
        { label: 'Goes to', cell: (f) => f.dest.join(', ') },
        {
          label: 'Actions',
          class: 'actions-cell',
          cell: (f) =>
            HS.button('Delete', { class: 'small danger', 'data-action': 'delete-forwarder', 'aria-label': 'Delete the forwarder ' + f.source }, async () => {
              await api('mail/delete_forwarder', { source: f.source });
              ctx.notify(HS.okBox('The forwarder ', f.source, ' was deleted.'));
              ctx.reload();
            }),
        },
      ],
    });
  }

  function createCards(ctx, data, domains) {
    const options = domains.map((d) => ({ value: d, label: d }));
    const mailbox = HS.form({
      name: 'create-mailbox',
      submit: 'Create mailbox',
      fields: [
        { name: 'user', label: 'Name (before @)', required: true, placeholder: 'info', hint: 'Letters a-z, digits and . _ + -' },
        { name: 'domain', label: 'Domain', options },
        { name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'new-password' },
        { name: 'quota', label: 'Quota', value: '1024M', required: true, hint: 'Like 1024M or 2G, or unlimited.' },
      ],
      async onsubmit(v) {
        const made = await api('mail/create_account', { domain: v.domain, user: v.user.trim(), password: v.password, quota: v.quota.trim() });
        ctx.notify(HS.okBox('The mailbox ', el('code', null, made.email), ' was created.'));
        ctx.reload();
      },
    });
    const forwarder = HS.form({
      name: 'create-forwarder',
      submit: 'Create forwarder',
      fields: [
        { name: 'user', label: 'Name (before @)', required: true, placeholder: 'sales' },
        { name: 'domain', label: 'Domain', options },
        { name: 'dest', label: 'Forward to', type: 'textarea', rows: 3, required: true, hint: 'One or more addresses, one per line.' },
      ],
      async onsubmit(v) {
        const source = v.user.trim() + '@' + v.domain;
        await api('mail/create_forwarder', { source, dest: list(v.dest) });
        ctx.notify(HS.okBox('Mail to ', source, ' is forwarded.'));
        ctx.reload();
      },
    });
    const catchall = HS.form({
      name: 'set-catchall',
      submit: 'Save catch-all',
      fields: [
        { name: 'domain', label: 'Domain', options },
        { name: 'dest', label: 'Mail to unknown names goes to', hint: 'Leave empty to refuse such mail.' },
      ],
      async onsubmit(v) {
        await api('mail/set_catchall', { domain: v.domain, dest: list(v.dest) });
        ctx.notify(HS.okBox('The catch-all of ', v.domain, ' was saved.'));
        ctx.reload();
      },
    });
    return el('div', { class: 'cards' }, [
      HS.card('Create a mailbox', mailbox),
      HS.card('Create a forwarder', forwarder),
      HS.card('Catch-all', catchall),
    ]);
  }

  function domainsNote(data) {
    const items = data.domains.map((d) =>
      el('li', null, el('code', null, d.domain), ': DKIM selector ', el('code', null, d.dkim_selector),
        d.catchall.length ? ', catch-all to ' + d.catchall.join(', ') : ''),
    );
    return items.length ? el('ul', { class: 'mail-domains' }, items) : null;
  }

  async function render(view, ctx) {
    const scope = HS.accountScope(ctx);
    const admin = ctx.me.portal === 'admin';
    if (admin && !scope.username) {
      const { accounts } = await api('account/list');
      view.append(HS.card('Whose mail?', HS.accountPicker(ctx, accounts, '')));
      return;
    }
    const [data, domainList, accounts] = await Promise.all([
      api('mail/list_accounts', scope),
      api('domain/list', scope),
      admin ? api('account/list') : Promise.resolve(null),
    ]);
    if (accounts) view.append(el('div', { class: 'picker' }, HS.accountPicker(ctx, accounts.accounts, scope.username)));
    const domains = domainList.domains.map((d) => d.domain);
    view.append(mailboxesTable(ctx, data), forwardersTable(ctx, data), domainsNote(data), createCards(ctx, data, domains));
  }

  HS.page({ id: 'mail', title: 'Mail', order: 26, portals: ['admin', 'user'], render });
})();
