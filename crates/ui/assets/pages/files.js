// File manager: browse the account's home folder by folder (breadcrumbs), upload
// with a progress bar (button or drag and drop onto the list), download, edit a
// text file, new folder, rename, copy, permissions (octal), delete, extract an
// archive. Uploads use XMLHttpRequest, whose upload progress events fetch lacks;
// the browser sends the session cookie and the Origin header the server checks.
// Downloads are plain links to the download action (GET, the cookie). On the
// admin portal, the account the address names (#/files?user=NAME&path=/x).
(function () {
  'use strict';
  const { el, api } = HS;

  const ARCHIVE = /\.(zip|tar|tgz|tar\.gz|tzst|tar\.zst)$/i;


  // "/a/b" + "c" -> "/a/b/c"; a name starting with "/" is from the home.
  function join(dir, name) {
    if (name.startsWith('/')) return name;
    return (dir === '/' ? '' : dir) + '/' + name;
  }


  // The page's address for a folder, keeping the account on the admin port.
  function hashFor(scope, path) {
    const query = new URLSearchParams();
    if (scope.username) query.set('user', scope.username);
    query.set('path', path);
    return '#/files?' + query.toString();
  }

  function downloadHref(scope, path) {
    const query = new URLSearchParams();
    if (scope.username) query.set('username', scope.username);
    query.set('path', path);
    return '/api/fileman/download?' + query.toString();
  }


  function breadcrumbs(scope, path) {
    const parts = path.split('/').filter(Boolean);
    const crumbs = [{ label: 'Home', path: '/' }];
    parts.forEach((part, i) => crumbs.push({ label: part, path: '/' + parts.slice(0, i + 1).join('/') }));
    const items = crumbs.map((c, i) =>
      el(
        'li',
        null,
        i === crumbs.length - 1
          ? el('span', { 'aria-current': 'location' }, c.label)
          : el('a', { href: hashFor(scope, c.path) }, c.label),
      ),
    );
    // A div, not <nav>: the page's own <nav> styles (and its phone-width fold) are the menu's.
    return el('div', { class: 'breadcrumbs', role: 'navigation', 'aria-label': 'Folder' }, el('ol', null, items));
  }

  // One upload through XMLHttpRequest, its progress shown in `bar`.
  function uploadOne(scope, dir, file, bar) {
    return new Promise((resolve, reject) => {
      const data = new FormData();
      data.append('path', dir);
      if (scope.username) data.append('username', scope.username);
      data.append('file', file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/fileman/upload');
      xhr.responseType = 'json';
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
      });
      xhr.addEventListener('load', () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          bar.value = 100;
          resolve(xhr.response);
          return;
        }
        const error = (xhr.response && xhr.response.error) || {};
        reject(
          new HS.ApiError(
            xhr.status,
            error.code || 'http_' + xhr.status,
            error.message || 'The upload failed with status ' + xhr.status + '.',
            error.operation_id || xhr.getResponseHeader('X-Operation-Id'),
          ),
        );
      });
      xhr.addEventListener('error', () => reject(new HS.ApiError(0, 'network', 'The upload broke off; check the connection.', null)));
      xhr.send(data);
    });
  }

  function entryActions(ctx, scope, state, entry) {
    const path = join(state.path, entry.name);
    const props = (action, label) => ({ 'data-action': action, 'data-name': entry.name, 'aria-label': label + ' ' + entry.name });
    const done = (...message) => {
      ctx.notify(HS.okBox(...message));
      state.refresh();
    };
    const buttons = [];
    if (entry.type === 'file') {
      buttons.push(el('a', { class: 'button small secondary', href: downloadHref(scope, path), download: entry.name, 'data-action': 'download', 'data-name': entry.name, 'aria-label': 'Download ' + entry.name }, 'Download'));
      buttons.push(HS.button('Edit', props('edit', 'Edit'), () => state.edit(path)));
    }
    if (entry.type === 'file' && ARCHIVE.test(entry.name)) {
      buttons.push(
        HS.button('Extract…', props('extract', 'Extract'), () =>
          HS.dialog({
            name: 'extract',
            title: 'Extract ' + entry.name,
            text: 'Entries that would land outside the folder, links and special files are skipped.',
            fields: [{ name: 'dest', label: 'Into the folder', required: true, value: state.path, hint: 'From the home, e.g. /public_html.' }],
            submit: 'Extract',
            run: async (v) => {
              const result = await api('fileman/extract', { ...scope, path, dest: v.dest.trim() });
              const skipped = result && Array.isArray(result.skipped) ? result.skipped.length : 0;
              done(entry.name, ' was extracted into ', v.dest.trim(), skipped ? ' (' + skipped + ' entries skipped).' : '.');
            },
          }),
        ),
      );
    }
    const target = (name, title, submit, action, verb) =>
      HS.button(submit + '…', props(name, submit), () =>
        HS.dialog({
          name,
          title: title + ' ' + entry.name,
          fields: [{ name: 'to', label: 'New name', required: true, value: name === 'copy' ? 'copy-of-' + entry.name : entry.name, hint: 'In this folder; start with / for a path from the home.' }],
          submit,
          run: async (v) => {
            const to = join(state.path, v.to.trim());
            await api(action, { ...scope, from: path, to });
            done(entry.name, verb, to, '.');
          },
        }),
      );
    buttons.push(target('rename', 'Rename', 'Rename', 'fileman/rename', ' was renamed to '));
    buttons.push(target('copy', 'Copy', 'Copy', 'fileman/copy', ' was copied to '));
    if (entry.type !== 'symlink') {
      buttons.push(
        HS.button('Permissions…', props('chmod', 'Change the permissions of'), () =>
          HS.dialog({
            name: 'chmod',
            title: 'Permissions of ' + entry.name,
            fields: [{ name: 'mode', label: 'Mode (octal)', required: true, value: entry.mode, inputmode: 'numeric', hint: 'e.g. 0644 for files, 0755 for folders.' }],
            submit: 'Save',
            run: async (v) => {
              const changed = await api('fileman/chmod', { ...scope, path, mode: v.mode.trim() });
              done(entry.name, ' now has mode ', changed.mode, '.');
            },
          }),
        ),
      );
    }
    buttons.push(
      HS.button('Delete…', { ...props('delete', 'Delete'), class: 'small danger' }, () =>
        HS.dialog({
          name: 'delete',
          title: 'Delete ' + entry.name,
          text: entry.type === 'dir' ? 'The folder and everything in it are deleted. This cannot be undone.' : 'The file is deleted. This cannot be undone.',
          submit: 'Delete',
          danger: true,
          run: async () => {
            await api('fileman/delete', { ...scope, path });
            done(entry.name, ' was deleted.');
          },
        }),
      ),
    );
    return el('div', { class: 'row-actions' }, buttons);
  }

  function nameCell(scope, state, entry) {
    if (entry.type === 'dir') {
      return el('a', { class: 'name dir', href: hashFor(scope, join(state.path, entry.name)) }, el('span', { class: 'kind', 'aria-hidden': 'true' }, '▸ '), entry.name);
    }
    const link = entry.type === 'symlink' ? el('span', { class: 'muted' }, ' → ', entry.target || '?') : null;
    return el('span', { class: 'name ' + entry.type }, entry.name, link);
  }

  function filesTable(ctx, scope, state, listing) {
    const entries = listing.entries.slice().sort((a, b) => (a.type === 'dir') === (b.type === 'dir') ? a.name.localeCompare(b.name) : a.type === 'dir' ? -1 : 1);
    return HS.table({
      rows: entries,
      key: (e) => e.name,
      class: 'files',
      empty: 'This folder is empty. Drop files here to upload them.',
      columns: [
        { label: 'Name', cell: (e) => nameCell(scope, state, e), class: 'name-cell' },
        { label: 'Size', cell: (e) => (e.type === 'dir' ? '—' : HS.bytes(e.size)), class: 'num' },
        { label: 'Mode', cell: (e) => el('code', null, e.mode) },
        { label: 'Modified', cell: (e) => HS.when(e.mtime) },
        { label: 'Actions', cell: (e) => entryActions(ctx, scope, state, e), class: 'actions-cell' },
      ],
    });
  }

  async function render(view, ctx) {
    const scope = HS.accountScope(ctx);
    const admin = ctx.me.portal === 'admin';
    if (admin && !scope.username) {
      const { accounts } = await api('account/list');
      view.append(HS.card('Whose files?', HS.accountPicker(ctx, accounts, '')));
      return;
    }
    const path = ctx.params.get('path') || '/';
    const [listing, accounts] = await Promise.all([api('fileman/list', { ...scope, path }), admin ? api('account/list') : Promise.resolve(null)]);
    if (accounts) view.append(el('div', { class: 'picker' }, HS.accountPicker(ctx, accounts.accounts, scope.username)));

    const state = { path: listing.path };
    const list = el('div', { class: 'file-list' });
    const editor = el('div', { class: 'editor-slot' });
    const progress = el('ul', { class: 'uploads', 'aria-live': 'polite' });

    state.refresh = async () => {
      try {
        const fresh = await api('fileman/list', { ...scope, path: state.path });
        list.replaceChildren(filesTable(ctx, scope, state, fresh));
      } catch (error) {
        ctx.notify(HS.errorBox(error));
      }
    };

    // FIXME: a textarea turns CRLF line ends into LF, so saving a Windows-style
    // text file from the editor rewrites its line ends.
    state.edit = async (file) => {
      let opened;
      try {
        opened = await api('fileman/edit', { ...scope, path: file });
      } catch (error) {
        ctx.notify(HS.errorBox(error));
        return;
      }
      const close = el('button', { type: 'button', class: 'secondary' }, 'Close');
      const form = HS.form({
        name: 'edit-file',
        submit: 'Save',
        extra: close,
        fields: [{ name: 'content', label: 'Content of ' + opened.path, type: 'textarea', rows: 18, value: opened.content, wrap: 'off' }],
        async onsubmit(v) {
          await api('fileman/edit', { ...scope, path: file, content: v.content });
          ctx.notify(HS.okBox(opened.path, ' was saved.'));
          state.refresh();
        },
      });
      close.addEventListener('click', () => editor.replaceChildren());
      editor.replaceChildren(HS.card('Edit ' + opened.path, el('p', { class: 'muted' }, 'Mode ', el('code', null, opened.mode), ', ', HS.bytes(opened.size), '.'), form));
      editor.scrollIntoView({ block: 'start' });
      form.querySelector('textarea').focus();
    };

    const upload = async (files) => {
      const all = Array.from(files);
      if (!all.length) return;
      let failed = 0;
      for (const file of all) {
        const bar = el('progress', { max: '100', value: '0' });
        const item = el('li', null, el('span', { class: 'file' }, file.name), bar);
        bar.setAttribute('aria-label', 'Uploading ' + file.name);
        progress.append(item);
        try {
          await uploadOne(scope, state.path, file, bar);
          item.remove();
        } catch (error) {
          failed++;
          item.replaceChildren(el('span', { class: 'file' }, file.name), HS.errorBox(error));
        }
      }
      if (!failed) ctx.notify(HS.okBox(all.length === 1 ? [all[0].name, ' was uploaded.'] : [all.length + ' files were uploaded.']));
      state.refresh();
    };

    const picker = el('input', { type: 'file', id: 'upload-files', name: 'file', multiple: true, class: 'visually-hidden' });
    picker.addEventListener('change', () => {
      upload(picker.files);
      picker.value = '';
    });
    const uploadLabel = el('label', { for: 'upload-files', class: 'button small primary' }, 'Upload files…');
    const mkdir = HS.button('New folder…', { 'data-action': 'mkdir', class: 'small secondary' }, () =>
      HS.dialog({
        name: 'mkdir',
        title: 'New folder in ' + state.path,
        fields: [{ name: 'name', label: 'Folder name', required: true }],
        submit: 'Create',
        run: async (v) => {
          const made = join(state.path, v.name.trim());
          await api('fileman/mkdir', { ...scope, path: made });
          ctx.notify(HS.okBox('The folder ', made, ' was created.'));
          state.refresh();
        },
      }),
    );

    // Dropping files anywhere on the list uploads them into this folder.
    const zone = el('section', { class: 'dropzone', 'aria-label': 'Files in ' + state.path }, list, el('p', { class: 'hint drop-hint' }, 'Drop files here to upload them into this folder.'));
    let depth = 0;
    zone.addEventListener('dragenter', (event) => {
      event.preventDefault();
      depth++;
      zone.classList.add('dragging');
    });
    zone.addEventListener('dragover', (event) => {
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    });
    zone.addEventListener('dragleave', () => {
      depth = Math.max(0, depth - 1);
      if (!depth) zone.classList.remove('dragging');
    });
    zone.addEventListener('drop', (event) => {
      event.preventDefault();
      depth = 0;
      zone.classList.remove('dragging');
      if (event.dataTransfer) upload(event.dataTransfer.files);
    });

    list.append(filesTable(ctx, scope, state, listing));
    view.append(
      breadcrumbs(scope, state.path),
      el('div', { class: 'toolbar file-tools' }, picker, uploadLabel, mkdir),
      progress,
      editor,
      zone,
    );
  }

  HS.page({ id: 'files', title: 'File manager', order: 28, portals: ['admin', 'user'], render });
})();
