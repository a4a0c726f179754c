// Backups (HS::Backup): the backups the caller may see, newest first, with their
// kind, size, contents and warnings; make a full or incremental backup; verify;
// restore a file or folder, a database, a mailbox or a zone (beside the current
// one unless "replace" is ticked), or, for staff, the whole account; delete.
// While an operation runs, its progress shows above the list. On the admin
// portal every managed account's backups are listed (#/backups?user=NAME narrows).
(function () {
  'use strict';
  const { el, api } = HS;


  function scopeOf(ctx, b) {
    if (ctx.me.portal !== 'admin') return {};
    return { username: b ? b.user : ctx.params.get('user') || undefined };
  }

  const REPLACE = { name: 'replace', label: 'Replace what exists (else restore beside it)', type: 'checkbox' };

  function restoreDialogs(ctx, b) {
    const scope = scopeOf(ctx, b);
    const buttons = [];
    const done = (what) => (r) => {
      ctx.notify(HS.okBox(what, ' restored', r && r.restored ? ' as ' + r.restored : '', '.'));
      ctx.reload();
    };
    buttons.push(HS.button('File or folder…', { class: 'small', 'data-action': 'restore-file' }, () =>
      HS.dialog({
        name: 'restore-file',
        title: 'Restore a file or folder from ' + b.id,
        fields: [{ name: 'path', label: 'Path in the home', required: true, value: '/public_html' }, REPLACE],
        submit: 'Restore',
        run: async (v) => done(v.path)(await api('backup/restore_file', { ...scope, id: b.id, path: v.path, replace: !!v.replace })),
      }),
    ));
    if (b.contents.databases.length) {
      buttons.push(HS.button('Database…', { class: 'small', 'data-action': 'restore-db' }, () =>
        HS.dialog({
          name: 'restore-db',
          title: 'Restore a database from ' + b.id,
          fields: [{ name: 'name', label: 'Database', options: b.contents.databases.map((d) => ({ value: d, label: d })) }, REPLACE],
          submit: 'Restore',
          run: async (v) => done(v.name)(await api('backup/restore_db', { ...scope, id: b.id, name: v.name, replace: !!v.replace })),
        }),
      ));
    }
    if (b.contents.mail_domains.length) {
      buttons.push(HS.button('Mailbox…', { class: 'small', 'data-action': 'restore-mailbox' }, () =>
        HS.dialog({
          name: 'restore-mailbox',
          title: 'Restore a mailbox from ' + b.id,
          fields: [{ name: 'mailbox', label: 'Address', required: true, placeholder: 'info@' + b.contents.mail_domains[0] }, REPLACE],
          submit: 'Restore',
          run: async (v) => done(v.mailbox)(await api('backup/restore_mailbox', { ...scope, id: b.id, mailbox: v.mailbox, replace: !!v.replace })),
        }),
      ));
    }
    if (b.contents.zones.length) {
      buttons.push(HS.button('Zone…', { class: 'small', 'data-action': 'restore-zone' }, () =>
        HS.dialog({
          name: 'restore-zone',
          title: 'Restore a DNS zone from ' + b.id,
          text: "The zone's records are replaced by the backup's.",
          fields: [{ name: 'zone', label: 'Zone', options: b.contents.zones.map((z) => ({ value: z, label: z })) }],
          submit: 'Restore',
          run: async (v) => done(v.zone)(await api('backup/restore', { ...scope, id: b.id, zone: v.zone })),
        }),
      ));
    }
    if (ctx.me.portal === 'admin') {
      buttons.push(HS.button('Whole account…', { class: 'small danger', 'data-action': 'restore-account' }, () =>
        HS.dialog({
          name: 'restore-account',
          title: 'Restore the account ' + b.user + ' from ' + b.id,
          text: 'If the account exists, it is terminated first and replaced by the backup.',
          fields: [{ name: 'confirm', label: 'Type the account name to confirm', required: true }],
          submit: 'Restore the account',
          danger: true,
          run: async (v) => {
            if (v.confirm.trim() !== b.user) throw new Error('The name you typed does not match.');
            done(b.user)(await api('backup/restore', { ...scope, id: b.id, replace: true }));
          },
        }),
      ));
    }
    buttons.push(HS.button('Verify', { class: 'small', 'data-action': 'verify' }, async () => {
      const r = await api('backup/verify', { ...scope, id: b.id });
      ctx.notify(r.ok ? HS.okBox('Backup ', b.id, ' verified: restored into a scratch folder and identical.')
        : HS.okBox('Backup ', b.id, ' differs: ', r.problems.join('; ')));
    }));
    buttons.push(HS.button('Delete…', { class: 'small danger', 'data-action': 'delete' }, () =>
      HS.dialog({
        name: 'delete-backup',
        title: 'Delete the backup ' + b.id,
        text: 'This cannot be undone.',
        submit: 'Delete',
        danger: true,
        run: async () => {
          await api('backup/delete', { ...scope, id: b.id });
          ctx.notify(HS.okBox('The backup ', b.id, ' was deleted.'));
          ctx.reload();
        },
      }),
    ));
    return el('div', { class: 'row-actions' }, buttons);
  }

  function table(ctx, backups, admin) {
    const columns = [];
    if (admin) columns.push({ label: 'Account', cell: (b) => el('code', null, b.user) });
    columns.push(
      { label: 'Backup', cell: (b) => el('code', { class: 'name' }, b.id) },
      { label: 'Kind', cell: (b) => b.kind + (b.destination !== 'local' ? ' → ' + b.destination : '') },
      { label: 'Size', cell: (b) => HS.bytes(b.size), class: 'num' },
      {
        label: 'Holds',
        cell: (b) => [b.contents.files + ' files', b.contents.databases.length + ' databases',
          b.contents.zones.length + ' zones', b.contents.mail_domains.length + ' mail domains'].join(', ') +
          (b.warnings.length ? ' — ' + b.warnings.length + ' warnings' : ''),
      },
      { label: 'Restore', class: 'actions-cell', cell: (b) => restoreDialogs(ctx, b) },
    );
    return HS.table({ rows: backups, key: (b) => b.user + b.id, class: 'backups', caption: 'Backups', empty: 'No backups yet.', columns });
  }

  function createCard(ctx, admin, accounts) {
    const fields = [];
    if (admin) {
      fields.push({ name: 'username', label: 'Account', options: accounts.map((a) => ({ value: a.username, label: a.username })), value: ctx.params.get('user') || '' });
    }
    fields.push({ name: 'incremental', label: 'Incremental (only what changed; encrypted)', type: 'checkbox' });
    const form = HS.form({
      name: 'create-backup',
      submit: 'Back up now',
      fields,
      async onsubmit(v) {
        // The backup runs in hs-taskd; its progress is shown live.
        const body = { incremental: !!v.incremental, background: true };
        if (admin) body.username = v.username;
        const job = await api('backup/create', body);
        ctx.notify(HS.jobNotice(job, 'Backup', (done) => {
          const r = done.output;
          if (r && r.id) {
            const warned = r.warnings.length ? ', ' + r.warnings.length + ' warnings' : '';
            ctx.notify(HS.okBox('Backup ', r.id, ' made (', HS.bytes(r.size), warned, ').'));
          }
          ctx.reload();
        }));
      },
    });
    return HS.card('Make a backup', form);
  }

  async function render(view, ctx) {
    const admin = ctx.me.portal === 'admin';
    const scope = scopeOf(ctx);
    const [list, accounts] = await Promise.all([api('backup/list', scope), admin ? api('account/list') : Promise.resolve(null)]);
    if (list.running) {
      const bar = el('progress', { max: '100', value: String(list.running.percent) });
      view.append(HS.card('In progress', el('p', null, list.running.step + ' (' + list.running.percent + '%) '), bar));
    }
    view.append(table(ctx, list.backups, admin), createCard(ctx, admin, accounts ? accounts.accounts : []));
  }

  HS.page({ id: 'backups', title: 'Backups', order: 29, portals: ['admin', 'user'], render });
})();
