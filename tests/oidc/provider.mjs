// A real OpenID provider (npm oidc-provider) for jitd's single sign-on
// integration tests, on https://127.0.0.1:PORT with a certificate the test
// made. Each start makes a fresh RSA signing key named by --kid, so a
// restart with another --kid is an IdP key rotation.
//
// Test users are clients using the client_credentials grant; their access
// tokens are JWTs (resource indicators) carrying a `groups` claim, and for
// the MFA step-up tests how the user signed in: erin with a second factor
// just now (`amr` [pwd, otp], `acr`, `auth_time` now), stale with one an
// hour ago; everyone else shows no `amr`:
//   resource https://jitd.test        -> aud "jitd", 5 min
//   resource https://jitd.test/short  -> aud "jitd", 1 s (expiry tests)
//   resource https://other.test       -> aud "other-api"
//
// People log in through the public client `jit-cli` (`jit login`: native
// app, loopback redirect on any port, PKCE, refresh tokens, device flow)
// with login NAME and password NAME-password on the plain HTML forms of
// /interaction/UID (login, then consent; each page also has an abort form
// that ends the login with access_denied).
//
// Usage: node provider.mjs --port N --cert FILE --key FILE --kid NAME
//          [--web-redirect URI]   (registers the public web client jitd-web)
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    kid: { type: 'string', default: 'key-1' },
    'web-redirect': { type: 'string' },
  },
});

const GROUPS = {
  alice: ['idp-developers', 'everyone'],
  mallory: ['everyone'],
  adam: ['idp-secops'],
  erin: ['idp-developers'],
  stale: ['idp-developers'],
};

const nowSeconds = () => Math.floor(Date.now() / 1000);
const SIGN_IN = {
  erin: () => ({
    amr: ['pwd', 'otp'],
    acr: 'urn:jitd:test:mfa',
    auth_time: nowSeconds(),
  }),
  stale: () => ({ amr: ['pwd', 'otp'], auth_time: nowSeconds() - 3600 }),
};

const RESOURCES = {
  'https://jitd.test': { audience: 'jitd', ttl: 300 },
  'https://jitd.test/short': { audience: 'jitd', ttl: 1 },
  'https://other.test': { audience: 'other-api', ttl: 300 },
};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: args.kid,
  use: 'sig',
  alg: 'RS256',
};

const clients = Object.keys(GROUPS).map((name) => ({
  client_id: name,
  client_secret: `${name}-test-secret`,
  grant_types: ['client_credentials'],
  redirect_uris: [],
  response_types: [],
  token_endpoint_auth_method: 'client_secret_post',
}));

clients.push({
  client_id: 'jit-cli',
  application_type: 'native',
  grant_types: [
    'authorization_code',
    'refresh_token',
    'urn:ietf:params:oauth:grant-type:device_code',
  ],
  response_types: ['code'],
  redirect_uris: ['http://127.0.0.1/callback'],
  token_endpoint_auth_method: 'none',
});

// jitd's web console (auth.oidc.web_client_id): a public web client whose
// code jitd exchanges itself, at the one redirect URI given.
if (args['web-redirect']) {
  clients.push({
    client_id: 'jitd-web',
    application_type: 'web',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [args['web-redirect']],
    token_endpoint_auth_method: 'none',
  });
}

async function findAccount(ctx, id) {
  if (!GROUPS[id]) return undefined;
  return { accountId: id, claims: async () => ({ sub: id }) };
}

const issuer = `https://127.0.0.1:${args.port}`;
const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: ['jitd-oidc-test-cookie-key'] },
  findAccount,
  issueRefreshToken: async (ctx, client) =>
    client.grantTypeAllowed('refresh_token'),
  features: {
    devInteractions: { enabled: false },
    deviceFlow: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'https://jitd.test',
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => {
        const r = RESOURCES[resource];
        if (!r) throw new Error(`unknown resource ${resource}`);
        return {
          scope: 'jit',
          audience: r.audience,
          accessTokenFormat: 'jwt',
          accessTokenTTL: r.ttl,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  extraTokenClaims: (ctx, token) => {
    const who = token.accountId ?? token.clientId;
    return { groups: GROUPS[who] ?? [], ...(SIGN_IN[who]?.() ?? {}) };
  },
});

function page(uid, title, fields, note = '') {
  return `<!doctype html><title>${title}</title><h1>${title}</h1>${note}
<form method="post" action="/interaction/${uid}/${fields ? 'login' : 'confirm'}">
${fields ?? ''}<button type="submit">Continue</button></form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Cancel</button></form>`;
}

const LOGIN_FIELDS = `<input type="text" name="login" value=""/>
<input type="password" name="password" value=""/>
`;

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 65536) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

function html(res, text) {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(text);
}

async function consent(details) {
  const { prompt, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({
        accountId: session.accountId,
        clientId: params.client_id,
      });
  const d = prompt.details;
  if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
  if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(
    d.missingResourceScopes ?? {},
  )) {
    grant.addResourceScope(resource, scopes.join(' '));
  }
  return { consent: { grantId: await grant.save() } };
}

// The login and consent pages (devInteractions is off).
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt } = details;
  const action = req.url.split('?')[0].split('/')[3];
  if (req.method === 'GET') {
    return prompt.name === 'login'
      ? html(res, page(uid, 'Sign in', LOGIN_FIELDS))
      : html(res, page(uid, 'Allow jit?', null));
  }
  let result;
  if (action === 'abort') {
    result = {
      error: 'access_denied',
      error_description: 'the user cancelled the login',
    };
  } else if (action === 'login' && prompt.name === 'login') {
    const form = await readForm(req);
    const login = form.get('login');
    if (!GROUPS[login] || form.get('password') !== `${login}-password`) {
      return html(res, page(uid, 'Sign in', LOGIN_FIELDS, '<p>wrong</p>'));
    }
    result = { login: { accountId: login } };
  } else if (action === 'confirm' && prompt.name === 'consent') {
    result = await consent(details);
  } else {
    res.writeHead(400);
    return res.end('unexpected interaction step');
  }
  return provider.interactionFinished(req, res, result, {
    mergeWithLastSubmission: false,
  });
}

const oidc = provider.callback();
const server = https.createServer(
  { cert: readFileSync(args.cert), key: readFileSync(args.key) },
  (req, res) => {
    if (!req.url.startsWith('/interaction/')) return oidc(req, res);
    interaction(req, res).catch((e) => {
      console.log(`interaction failed: ${e}`);
      res.writeHead(500);
      res.end('interaction failed');
    });
  },
);
server.listen(Number(args.port), '127.0.0.1', () => {
  console.log(`oidc test provider on ${issuer} kid=${args.kid}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
