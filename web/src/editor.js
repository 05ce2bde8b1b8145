// CodeMirror 6 bound to a ShareDB text-unicode document, with remote cursors from ShareDB doc presence.
//
// Local edits: every CodeMirror transaction that changes the document (and is not itself a remote change) becomes a
// text-unicode op submitted with doc.submitOp(op, {source}); ShareDB applies it to doc.data synchronously, so the
// editor and doc.data stay equal. Remote ops: ShareDB transforms them over our unacknowledged ops and emits 'op'
// with the op that applies to the current doc.data, which is the editor's text at that moment; we dispatch it as
// CodeMirror changes annotated `remoteChange`, so that they are not submitted back and stay out of the undo history.

import { Annotation, Compartment, EditorState, RangeSetBuilder, StateEffect, StateField, Transaction } from '@codemirror/state';
import { Decoration, EditorView, WidgetType, keymap } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { colorClass } from './colors.js';
import { changesToOp, opToChanges, codePointToUtf16, utf16ToCodePoint } from './text.js';

const remoteChange = Annotation.define();

// ---------------------------------------------------------------------------------------------------------------
// Remote cursors: a caret widget with the user's name, and a highlighted selection.

class RemoteCaret extends WidgetType {
  constructor(user, color, index) {
    super();
    this.user = user;
    this.color = color;
    this.index = index;
  }

  eq(other) {
    return other.user === this.user && other.color === this.color && other.index === this.index;
  }

  toDOM() {
    const caret = document.createElement('span');
    caret.className = `remote-caret ${colorClass(this.color)}`;
    caret.dataset.testid = 'remote-cursor';
    caret.dataset.user = this.user;
    caret.dataset.index = String(this.index);
    caret.setAttribute('aria-hidden', 'true');
    const label = document.createElement('span');
    label.className = 'remote-caret-label';
    label.textContent = this.user;
    caret.appendChild(label);
    return caret;
  }

  ignoreEvent() {
    return true;
  }
}

const setRemoteCursors = StateEffect.define();

// The decorations of remote cursors. Replaced as a whole by setRemoteCursors; in between, mapped through changes.
const remoteCursorField = StateField.define({
  create: () => Decoration.none,
  update(decorations, tr) {
    for (const e of tr.effects) if (e.is(setRemoteCursors)) return e.value;
    return tr.docChanged ? decorations.map(tr.changes) : decorations;
  },
  provide: (field) => EditorView.decorations.from(field),
});

// Decorations for presence values [{user, color, index, length, backward}] (code points) on `text`.
function cursorDecorations(text, cursors) {
  const ranges = [];
  for (const c of cursors) {
    const from = codePointToUtf16(text, c.index);
    const to = codePointToUtf16(text, c.index + (c.length || 0));
    if (to > from) {
      ranges.push({
        from, to, deco: Decoration.mark({
          class: `remote-selection ${colorClass(c.color)}`,
          attributes: { 'data-testid': 'remote-selection', 'data-user': c.user },
        }),
      });
    }
    const head = c.backward ? from : to;
    const headCp = c.backward ? c.index : c.index + (c.length || 0);
    ranges.push({
      from: head, to: head,
      deco: Decoration.widget({ widget: new RemoteCaret(c.user, c.color, headCp), side: 1 }),
    });
  }
  // RangeSetBuilder needs ranges sorted by from and startSide (widgets with side 1 after marks starting there).
  ranges.sort((a, b) => a.from - b.from || a.deco.startSide - b.deco.startSide);
  const builder = new RangeSetBuilder();
  for (const r of ranges) builder.add(r.from, r.to, r.deco);
  return builder.finish();
}

// ---------------------------------------------------------------------------------------------------------------

const theme = EditorView.theme({
  '&': { height: '100%', fontSize: '15px' },
  // A visible focus ring for keyboard users (CodeMirror's own is a thin dotted line).
  '&.cm-focused': { outline: '3px solid #ffbf47', outlineOffset: '-3px' },
  '.cm-scroller': { fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, monospace', lineHeight: '1.5' },
  '.cm-content': { padding: '18px 0 12px' }, // room above the first line for remote carets' name labels
  '.cm-line': { padding: '0 14px' },
});

// Binds a CodeMirror view in `parent` to the subscribed ShareDB doc `doc`, with presence `presence`
// (connection.getDocPresence, subscribed). `me` = {user, color}; onChange() after every change of the text;
// onError(message) for what the user should know. Returns {view, source, renderCursors, destroy()}.
export function createEditor({ parent, doc, presence, me, onChange, onError }) {
  // A unique source for our ops: remote ops (including our own echoed by other tabs) have another one.
  const source = `cm-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
  const localPresence = presence.create();
  const editableCompartment = new Compartment();
  let presenceTimer = null;
  let destroyed = false;

  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: typeof doc.data === 'string' ? doc.data : '',
      extensions: [
        history(),
        keymap.of([...defaultKeymap, ...historyKeymap]),
        EditorView.lineWrapping,
        remoteCursorField,
        editableCompartment.of(editability()),
        theme,
        EditorView.contentAttributes.of({ 'aria-label': 'Document text', 'data-testid': 'editor-content' }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) {
            for (const tr of update.transactions) {
              if (!tr.docChanged || tr.annotation(remoteChange)) continue;
              submitLocalChanges(tr);
            }
          }
          if (update.docChanged || update.selectionSet || update.focusChanged) schedulePresence();
          if (update.docChanged && onChange) onChange();
        }),
      ],
    }),
  });

  function submitLocalChanges(tr) {
    const changes = [];
    tr.changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
      changes.push({ fromA, toA, inserted: inserted.toString() });
    });
    const op = changesToOp(tr.startState.doc.toString(), changes);
    if (!op) return;
    if (!doc.type) return; // not created yet: the editor is read-only until then
    doc.submitOp(op, { source }, (err) => {
      // ShareDB rolls the doc back on a rejected op and emits the rollback as ops; the editor follows them.
      if (err && onError) onError(`An edit was refused and undone: ${err.message}`);
    });
  }

  // Our cursor and selection, in code points, sent a moment after the last change (coalesces a burst of keys).
  function schedulePresence() {
    if (presenceTimer) return;
    presenceTimer = setTimeout(() => {
      presenceTimer = null;
      sendPresence();
    }, 40);
  }

  function sendPresence() {
    if (destroyed || !doc.type) return;
    const text = view.state.doc.toString();
    const sel = view.state.selection.main;
    const from = utf16ToCodePoint(text, sel.from);
    const to = utf16ToCodePoint(text, sel.to);
    const value = { index: from, length: to - from, backward: sel.head < sel.anchor, user: me.user, color: me.color };
    localPresence.submit(value, (err) => {
      if (err && !destroyed && onError) onError(`Others may not see your cursor: ${err.message}`);
    });
  }

  // Remote ops, rollbacks of our own rejected ops, and (re)loaded snapshots.
  function onOp(op, opSource) {
    if (opSource === source) return;
    const text = view.state.doc.toString();
    view.dispatch({
      changes: opToChanges(text, op),
      annotations: [remoteChange.of(true), Transaction.addToHistory.of(false)],
    });
    scheduleCursorRender();
  }

  function onLoad() {
    const data = typeof doc.data === 'string' ? doc.data : '';
    if (data !== view.state.doc.toString()) {
      view.dispatch({
        changes: { from: 0, to: view.state.doc.length, insert: data },
        annotations: [remoteChange.of(true), Transaction.addToHistory.of(false)],
      });
    }
    view.dispatch({ effects: editableCompartment.reconfigure(editability()) });
    scheduleCursorRender();
  }

  let renderQueued = false;
  function scheduleCursorRender() {
    if (renderQueued) return;
    renderQueued = true;
    // After the current event: ShareDB transforms remote presence in its own 'op' listeners.
    queueMicrotask(() => {
      renderQueued = false;
      renderCursors();
    });
  }

  function renderCursors() {
    if (destroyed) return;
    const cursors = [];
    for (const id of Object.keys(presence.remotePresences)) {
      const value = presence.remotePresences[id];
      if (!value || typeof value.index !== 'number') continue;
      cursors.push({
        user: String(value.user || 'someone'),
        color: String(value.color || ''),
        index: value.index,
        length: value.length || 0,
        backward: !!value.backward,
      });
    }
    view.dispatch({ effects: setRemoteCursors.of(cursorDecorations(view.state.doc.toString(), cursors)) });
  }

  // Read-only until the document exists (a create may still be on its way) and after it is deleted.
  function editability() {
    const editable = !!doc.type;
    return [EditorView.editable.of(editable), EditorState.readOnly.of(!editable)];
  }

  doc.on('op', onOp);
  doc.on('load', onLoad);
  doc.on('create', onLoad);
  doc.on('del', onLoad);
  presence.on('receive', scheduleCursorRender);

  return {
    view,
    source,
    renderCursors,
    destroy() {
      destroyed = true;
      clearTimeout(presenceTimer);
      doc.off('op', onOp);
      doc.off('load', onLoad);
      doc.off('create', onLoad);
      doc.off('del', onLoad);
      presence.off('receive', scheduleCursorRender);
      localPresence.destroy();
      view.destroy();
    },
  };
}
