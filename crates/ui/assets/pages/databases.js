// Databases (MariaDB): the account's databases with their size and its database
// users with their grants; create a database or a user (the account prefix is
// shown, the suffix typed), grant ALL or chosen privileges, revoke, change a
// user's password, set the remote hosts a user may connect from, delete. On the
// user portal, the caller's own account; on the admin portal, the account the
// address names (#/databases?user=NAME), chosen from a list like the cron page.
(function () {
  'use strict';
  const { el, api } = HS;

  // The privileges offered one by one (the API also takes "ALL").
  const PRIVILEGES = [
    'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'INDEX', 'ALTER',
    'CREATE TEMPORARY TABLES', 'LOCK TABLES', 'EXECUTE', 'CREATE VIEW', 'SHOW VIEW',
    'CREATE ROUTINE', 'ALTER ROUTINE', 'EVENT', 'TRIGGER', 'REFERENCES', 'DELETE HISTORY',
  ];




  // A name field with the account prefix shown in front of what is typed.
  function prefixed(name, label, prefix, hint) {
    const field = HS.field({ name, label, required: true, hint, placeholder: 'shop', autocomplete: 'off' });
    const input = field.querySelector('input');
    input.setAttribute('maxlength', '40');
    input.setAttribute('pattern', '[a-z0-9_]+');
    const box = el('div', { class: 'prefixed' }, el('span', { class: 'prefix' }, prefix));
    input.replaceWith(box);
    box.append(input);
    return field;
  }

  // "ALL" or chosen privileges: the checkboxes show when "all" is unticked.
  function privilegeFields() {
    const all = HS.field({ name: 'all', label: 'All privileges', type: 'checkbox', value: true });
    const boxes = PRIVILEGES.map((p) => HS.field({ name: 'priv:' + p, label: p, type: 'checkbox' }));
    const chosen = el('fieldset', { class: 'privileges', hidden: true }, el('legend', null, 'Privileges'), boxes);
    const toggle = all.querySelector('input');
    toggle.addEventListener('change', () => {
      chosen.hidden = toggle.checked;
    });
    return [all, chosen];
  }

  function privilegesOf(v) {
    if (v.all) return ['ALL'];
    return PRIVILEGES.filter((p) => v['priv:' + p]);
  }

  function grantDialog(ctx, scope, data, user) {
    const userOptions = data.users.map((u) => ({ value: u.name, label: u.name }));
    const dbOptions = data.databases.map((d) => ({ value: d.name, label: d.name }));
    return HS.dialog({
      name: 'grant',
      title: user ? 'Grant privileges to ' + user : 'Grant privileges',
      fields: [
        { name: 'user', label: 'Database user', options: userOptions, value: user || '' },
        { name: 'db', label: 'Database', options: dbOptions },
      ].concat(privilegeFields()),
      submit: 'Grant',
      run: async (v) => {
        const privileges = privilegesOf(v);
        if (!privileges.length) throw new Error('Choose at least one privilege, or tick “All privileges”.');
        await api('database/grant', { ...scope, user: v.user, db: v.db, privileges });
        ctx.notify(HS.okBox(v.user, ' now has ', privileges.join(', '), ' on ', v.db, '.'));
        ctx.reload();
      },
    });
  }

  function databasesTable(ctx, scope, data) {
    return HS.table({
      rows: data.databases,
      key: (d) => d.name,
      class: 'databases',
      caption: 'Databases',
      empty: 'No databases yet.',
      columns: [
        { label: 'Database', cell: (d) => el('code', { class: 'name' }, d.name) },
        { label: 'Size', cell: (d) => HS.bytes(d.size_bytes), class: 'num' },
        {
          label: 'Actions',
          class: 'actions-cell',
          cell: (d) =>
            el(
              'div',
              { class: 'row-actions' },
              HS.button('Delete…', { class: 'small danger', 'data-action': 'delete-db', 'data-name': d.name, 'aria-label': 'Delete the database ' + d.name }, () =>
                HS.dialog({
                  name: 'delete-db',
                  title: 'Delete the database ' + d.name,
                  text: 'Its tables and data are dropped, and every grant on it. This cannot be undone.',
                  fields: [{ name: 'confirm', label: 'Type the database name to confirm', required: true }],
                  submit: 'Delete',
                  danger: true,
                  run: async (v) => {
                    if (v.confirm.trim() !== d.name) throw new Error('The name you typed does not match.');
                    await api('database/delete_db', { ...scope, name: d.name });
                    ctx.notify(HS.okBox('The database ', el('code', null, d.name), ' was deleted.'));
                    ctx.reload();
                  },
                }),
              ),
            ),
        },
      ],
    });
  }

  function grantsCell(ctx, scope, u) {
    if (!u.grants.length) return el('span', { class: 'muted' }, 'No grants');
    return el(
      'ul',
      { class: 'grants' },
      u.grants.map((g) =>
        el(
          'li',
          null,
          el('code', null, g.db),
          ': ',
          el('span', { class: 'privs' }, g.privileges.join(', ')),
          ' ',
          HS.button('Revoke…', { class: 'small secondary', 'data-action': 'revoke', 'aria-label': 'Revoke ' + u.name + '’s privileges on ' + g.db }, () =>
            HS.dialog({
              name: 'revoke',
              title: 'Revoke privileges',
              text: u.name + ' loses ' + g.privileges.join(', ') + ' on ' + g.db + '.',
              submit: 'Revoke',
              danger: true,
              run: async () => {
                await api('database/revoke', { ...scope, user: u.name, db: g.db, privileges: g.privileges });
                ctx.notify(HS.okBox('Revoked ', u.name, '’s privileges on ', g.db, '.'));
                ctx.reload();
              },
            }),
          ),
        ),
      ),
    );
  }

  function userActions(ctx, scope, data, u) {
    const props = (action, label) => ({ 'data-action': action, 'data-name': u.name, 'aria-label': label + ' ' + u.name });
    const grant = HS.button('Grant…', props('grant', 'Grant privileges to'), () => grantDialog(ctx, scope, data, u.name));
    const password = HS.button('Password…', props('password', 'Change the password of'), () =>
      HS.dialog({
        name: 'change-password',
        title: 'New password for ' + u.name,
        fields: [{ name: 'password', label: 'New password', type: 'password', required: true, autocomplete: 'new-password', hint: '8 to 128 characters.' }],
        submit: 'Change password',
        run: async (v) => {
          await api('database/change_password', { ...scope, name: u.name, password: v.password });
          ctx.notify(HS.okBox('The password of ', u.name, ' was changed.'));
        },
      }),
    );
    const hosts = HS.button('Remote hosts…', props('hosts', 'Set the remote hosts of'), () =>
      HS.dialog({
        name: 'remote-hosts',
        title: 'Remote hosts for ' + u.name,
        text: 'Addresses this user may connect from besides this server. Leave empty for this server only.',
        fields: [{ name: 'hosts', label: 'IP addresses, one per line', type: 'textarea', rows: 4, value: u.remote_hosts.join('\n'), placeholder: '192.0.2.10' }],
        submit: 'Save',
        run: async (v) => {
          const list = v.hosts.split(/[\s,]+/).filter(Boolean);
          await api('database/set_remote_hosts', { ...scope, name: u.name, hosts: list });
          ctx.notify(HS.okBox(list.length ? ['Remote hosts of ', u.name, ' saved.'] : [u.name, ' may now connect from this server only.']));
          ctx.reload();
        },
      }),
    );
    const remove = HS.button('Delete…', { ...props('delete-user', 'Delete the database user'), class: 'small danger' }, () =>
      HS.dialog({
        name: 'delete-user',
        title: 'Delete the database user ' + u.name,
        text: 'Its grants go with it; the databases stay.',
        submit: 'Delete',
        danger: true,
        run: async () => {
          await api('database/delete_user', { ...scope, name: u.name });
          ctx.notify(HS.okBox('The database user ', el('code', null, u.name), ' was deleted.'));
          ctx.reload();
        },
      }),
    );
    return el('div', { class: 'row-actions' }, grant, password, hosts, remove);
  }

  function usersTable(ctx, scope, data) {
    return HS.table({
      rows: data.users,
      key: (u) => u.name,
      class: 'db-users',
      caption: 'Database users',
      empty: 'No database users yet.',
      columns: [
        { label: 'User', cell: (u) => el('code', { class: 'name' }, u.name) },
        { label: 'Grants', cell: (u) => grantsCell(ctx, scope, u) },
        {
          label: 'Connects from',
          cell: (u) => el('span', { class: 'hosts' }, ['this server'].concat(u.remote_hosts).join(', ')),
        },
        { label: 'Actions', class: 'actions-cell', cell: (u) => userActions(ctx, scope, data, u) },
      ],
    });
  }

  function createCards(ctx, scope, data) {
    const prefix = data.username + '_';
    const db = HS.form({
      name: 'create-db',
      submit: 'Create database',
      fields: [prefixed('suffix', 'Database name', prefix, 'After ' + prefix + ': lowercase letters, digits and _.')],
      async onsubmit(v) {
        const name = prefix + v.suffix.trim();
        await api('database/create_db', { ...scope, name });
        ctx.notify(HS.okBox('The database ', el('code', null, name), ' was created.'));
        ctx.reload();
      },
    });
    const user = HS.form({
      name: 'create-user',
      submit: 'Create user',
      fields: [
        prefixed('suffix', 'User name', prefix, 'After ' + prefix + ': lowercase letters, digits and _.'),
        { name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'new-password', hint: '8 to 128 characters.' },
      ],
      async onsubmit(v) {
        const name = prefix + v.suffix.trim();
        await api('database/create_user', { ...scope, name, password: v.password });
        ctx.notify(HS.okBox('The database user ', el('code', null, name), ' was created. Grant it privileges on a database next.'));
        ctx.reload();
      },
    });
    const cards = [HS.card('Create a database', db), HS.card('Create a database user', user)];
    if (data.users.length && data.databases.length) {
      const grant = HS.form({
        name: 'grant',
        submit: 'Grant',
        fields: [
          { name: 'user', label: 'Database user', options: data.users.map((u) => ({ value: u.name, label: u.name })) },
          { name: 'db', label: 'Database', options: data.databases.map((d) => ({ value: d.name, label: d.name })) },
        ].concat(privilegeFields()),
        async onsubmit(v) {
          const privileges = privilegesOf(v);
          if (!privileges.length) throw new Error('Choose at least one privilege, or tick “All privileges”.');
          await api('database/grant', { ...scope, user: v.user, db: v.db, privileges });
          ctx.notify(HS.okBox(v.user, ' now has ', privileges.join(', '), ' on ', v.db, '.'));
          ctx.reload();
        },
      });
      cards.push(HS.card('Grant privileges', grant));
    }
    return el('div', { class: 'cards' }, cards);
  }

  async function render(view, ctx) {
    const scope = HS.accountScope(ctx);
    const admin = ctx.me.portal === 'admin';
    if (admin && !scope.username) {
      const { accounts } = await api('account/list');
      view.append(HS.card('Whose databases?', HS.accountPicker(ctx, accounts, '')));
      return;
    }
    const [data, accounts] = await Promise.all([api('database/list', scope), admin ? api('account/list') : Promise.resolve(null)]);
    if (accounts) view.append(el('div', { class: 'picker' }, HS.accountPicker(ctx, accounts.accounts, scope.username)));
    view.append(
      databasesTable(ctx, scope, data),
      usersTable(ctx, scope, data),
      createCards(ctx, scope, data),
    );
  }

  HS.page({ id: 'databases', title: 'Databases', order: 27, portals: ['admin', 'user'], render });
})();
