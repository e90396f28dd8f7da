import { useEffect, useState } from 'react';
import { humanize } from '../lib/contract.js';

/**
 * A search form over the given fields ({name, label, type: text|select|date, options, maxLength}).
 * Edits stay local until submitted; `errors` (field -> message) marks invalid inputs.
 */
export function FilterForm({ fields, values, onSubmit, onReset, errors = {}, submitLabel = 'Search', testid }) {
  const initial = () => Object.fromEntries(fields.map((f) => [f.name, values[f.name] ?? '']));
  const [draft, setDraft] = useState(initial);
  const signature = fields.map((f) => values[f.name] ?? '').join('\u0000');
  useEffect(() => {
    setDraft(initial());
    // re-sync only when the applied values change (navigation, reset)
  }, [signature]);

  const set = (name) => (e) => setDraft((d) => ({ ...d, [name]: e.target.value }));
  return (
    <form
      className="filter-form"
      data-testid={testid}
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit(draft);
      }}
    >
      <div className="filter-grid">
        {fields.map((f) => (
          <Field key={f.name} field={f} value={draft[f.name]} onChange={set(f.name)} error={errors[f.name]} />
        ))}
      </div>
      <div className="form-actions">
        <button type="submit" className="button">
          {submitLabel}
        </button>
        {onReset && (
          <button type="button" className="button button-secondary" onClick={onReset}>
            Clear
          </button>
        )}
      </div>
    </form>
  );
}

export function Field({ field, value, onChange, error }) {
  const id = `f-${field.name}`;
  const common = {
    id,
    name: field.name,
    value,
    onChange,
    'aria-invalid': error ? 'true' : undefined,
    'aria-describedby': error ? `${id}-error` : undefined,
    'data-testid': `filter-${field.name}`,
  };
  let input;
  if (field.type === 'select') {
    input = (
      <select {...common}>
        <option value="">{field.anyLabel ?? 'Any'}</option>
        {field.options.map((o) => (
          <option key={o} value={o}>
            {field.raw ? o : humanize(o)}
          </option>
        ))}
      </select>
    );
  } else {
    input = (
      <input
        {...common}
        type={field.type === 'date' ? 'date' : 'text'}
        maxLength={field.maxLength}
        placeholder={field.placeholder}
        required={field.required}
        autoComplete="off"
      />
    );
  }
  return (
    <div className={`field${error ? ' field-invalid' : ''}${field.wide ? ' field-wide' : ''}`}>
      <label htmlFor={id}>{field.label}</label>
      {input}
      {error && (
        <span className="field-error" id={`${id}-error`}>
          {error}
        </span>
      )}
    </div>
  );
}
