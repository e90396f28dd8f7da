// The API's error shape {"error": {"code", "message", "details": [{"field", "message"}]}} turned into
// something the pages can show. Pure functions, unit tested.
import { RETRY_AFTER_SECONDS } from './contract.js';

export class ApiError extends Error {
  constructor({ status, code, message, details = [], retryAfter = null, requestId = null, url = null }) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
    this.requestId = requestId;
    this.url = url;
  }
}

const REASONS = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function cleanDetails(raw) {
  if (!Array.isArray(raw)) return [];
  return raw
    .filter((d) => d && typeof d === 'object')
    .map((d) => ({ field: String(d.field ?? ''), message: String(d.message ?? '') }));
}

/** Seconds of a Retry-After header (delta-seconds form), or null. */
export function parseRetryAfter(value) {
  if (value === null || value === undefined) return null;
  const text = String(value).trim();
  return /^\d+$/.test(text) ? Number.parseInt(text, 10) : null;
}

/**
 * An ApiError from a failed response: the contract's error body when there is one, otherwise (a proxy's
 * HTML page, an empty body) a generic error naming the HTTP status.
 * `headers` is a Headers object or a plain object of lower-case names.
 */
export function parseApiError(status, bodyText, headers = {}, url = null) {
  const header = (name) =>
    typeof headers?.get === 'function' ? headers.get(name) : (headers?.[name.toLowerCase()] ?? null);
  const retryAfter = parseRetryAfter(header('Retry-After'));
  const requestId = header('X-Request-ID');
  let body = null;
  try {
    body = bodyText ? JSON.parse(bodyText) : null;
  } catch {
    body = null;
  }
  const err = body && typeof body === 'object' ? body.error : null;
  if (err && typeof err === 'object' && typeof err.code === 'string') {
    return new ApiError({
      status,
      code: err.code,
      message: typeof err.message === 'string' && err.message ? err.message : `HTTP ${status}`,
      details: cleanDetails(err.details),
      retryAfter,
      requestId,
      url,
    });
  }
  const reason = REASONS[status] ? ` ${REASONS[status]}` : '';
  return new ApiError({
    status,
    code: `http_${status}`,
    message: `The server answered HTTP ${status}${reason}.`,
    retryAfter,
    requestId,
    url,
  });
}

/** A request that got no HTTP answer at all (server down, refused, CORS blocked). */
export function networkError(cause, url) {
  const reason = cause && cause.message ? ` (${cause.message})` : '';
  return new ApiError({
    status: 0,
    code: 'network_error',
    message: `The service could not be reached${reason}.`,
    url,
  });
}

export function isWritesFrozen(error) {
  return error instanceof ApiError && error.code === 'writes_frozen';
}

/**
 * What the error notice shows: a title, the message, the field details and a tone. A write freeze (a
 * planned cutover in progress) is a friendly notice, not an alarm.
 */
export function describeError(error) {
  if (isWritesFrozen(error)) {
    const seconds = error.retryAfter ?? RETRY_AFTER_SECONDS;
    return {
      tone: 'notice',
      title: 'Writes paused, retry shortly',
      message: `${error.message} Searching and viewing keep working. Please try again in about ${seconds} seconds.`,
      details: [],
    };
  }
  if (error instanceof ApiError) {
    const titles = {
      validation_error: 'Please check the highlighted values',
      not_found: 'Not found',
      service_unavailable: 'Service unavailable',
      network_error: 'Service unreachable',
      internal_error: 'Server error',
    };
    const moved = error.releaseMoved
      ? ' The service has moved to another release: reload the page, then check whether this change was applied.'
      : '';
    return {
      tone: 'error',
      title: titles[error.code] ?? `Request failed (${error.status})`,
      message: error.message + moved,
      details: error.details,
      requestId: error.requestId,
    };
  }
  return {
    tone: 'error',
    title: 'Unexpected error',
    message: error && error.message ? error.message : String(error),
    details: [],
  };
}

/** Field name -> message, for marking form inputs ("filters.date_to" marks the date_to input too). */
export function fieldErrors(error) {
  const out = {};
  if (!(error instanceof ApiError)) return out;
  for (const d of error.details) {
    const name = d.field.startsWith('filters.') ? d.field.slice('filters.'.length) : d.field;
    if (!(name in out)) out[name] = d.message;
  }
  return out;
}
