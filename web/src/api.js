// The REST API as the console uses it. The session lives in an HttpOnly
// cookie the browser sends by itself; this code never sees a token after
// sign-in. Calls that change state carry X-Jitd-Csrf, without which jitd
// refuses a cookie-authenticated request.

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.error = error ?? { code: 'internal', message: `HTTP ${status}` };
  }
}

async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-Jitd-Csrf'] = '1';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { code: 'unavailable', message: 'jitd cannot be reached' });
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, data?.error);
  return data;
}

const q = (params) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) s.set(k, v);
  const text = s.toString();
  return text ? `?${text}` : '';
};
const id = (x) => encodeURIComponent(x);

export const api = {
  signIn: (token) => call('POST', '/v1/session', { token }),
  signOut: () => call('DELETE', '/v1/session'),
  // 404 when jitd has no browser client at the IdP (auth.oidc.web_client_id).
  oidcSignIn: () => call('GET', '/v1/session/oidc'),
  whoami: () => call('GET', '/v1/whoami'),
  entitlements: () => call('GET', '/v1/entitlements'),
  createRequest: (body) => call('POST', '/v1/requests', body),
  requests: (params) => call('GET', `/v1/requests${q(params)}`),
  approve: (rid, comment) => call('POST', `/v1/requests/${id(rid)}/approve`, { comment }),
  deny: (rid, comment) => call('POST', `/v1/requests/${id(rid)}/deny`, { comment }),
  cancel: (rid) => call('POST', `/v1/requests/${id(rid)}/cancel`, {}),
  grants: (params) => call('GET', `/v1/grants${q(params)}`),
  endGrant: (gid, reason) => call('POST', `/v1/grants/${id(gid)}/revoke`, { reason }),
  extendGrant: (gid, duration, justification) =>
    call('POST', `/v1/grants/${id(gid)}/extend`, { duration, justification }),
  history: (rid) => call('GET', `/v1/requests/${id(rid)}/history`),
  audit: (params) => call('GET', `/v1/audit${q(params)}`),
  verifyAudit: () => call('GET', '/v1/audit/verify'),
  summary: (params) => call('GET', `/v1/reports/summary${q(params)}`),
  policies: () => call('GET', '/v1/policies'),
  explain: (body) => call('POST', '/v1/policies/explain', body),
};

// A plain link that downloads the export: the browser sends the session
// cookie with it, and a GET needs no CSRF header.
export const auditExportHref = (format, params) =>
  `/v1/audit/export${q({ ...params, format })}`;
