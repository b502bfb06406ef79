// motcua's local development identity provider: OpenID Connect on oidc-provider (certified),
// with the demo people and clients of people.json and its own login page.
//
//   IDP_ISSUER      its public URL, the `iss` of its tokens (default http://localhost:8009)
//   IDP_PORT        the port it listens on (default 8009), IDP_HOST the address (default 127.0.0.1)
//   IDP_KEYS_FILE   the signing keys, a private JWKS (default .run/idp-keys.json, relative to the
//                   working directory); generated when absent, so a new file is a key rotation
//   IDP_PEOPLE_FILE the people and clients (default people.json next to this file)
//
// Access tokens are JWTs (RS256) for the resource `urn:motcua` whose audience is `motcua`; they
// carry sub, name, unit, agency, roles (and citizen_id for citizens). A client-credentials token
// carries the client's roles and unit. Development only: the passwords are public.

import { generateKeyPairSync, randomBytes, randomUUID, createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider, { errors } from 'oidc-provider';

import {
  CONTENT_SECURITY_POLICY, errorPage, loggedOutPage, loginPage, logoutPage,
} from './pages.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ISSUER = process.env.IDP_ISSUER || 'http://localhost:8009';
const PORT = Number(process.env.IDP_PORT || 8009);
const HOST = process.env.IDP_HOST || '127.0.0.1';
const KEYS_FILE = resolve(process.env.IDP_KEYS_FILE || '.run/idp-keys.json');
const PEOPLE_FILE = resolve(process.env.IDP_PEOPLE_FILE || join(HERE, 'people.json'));

export const RESOURCE = 'urn:motcua';
export const AUDIENCE = 'motcua';
const ACCESS_TOKEN_SECONDS = 12 * 60 * 60;
const CLIENT_CREDENTIALS_SECONDS = 60 * 60;
const WRONG_LOGIN = 'Tên đăng nhập hoặc mật khẩu không đúng. (Wrong username or password.)';

// --- people and clients ------------------------------------------------------------------------

const directory = JSON.parse(readFileSync(PEOPLE_FILE, 'utf8'));
const people = new Map(directory.people.map((p) => [p.username, p]));
const systems = new Map(directory.clients.map((c) => [c.client_id, c]));

function clientMetadata(entry) {
  const grants = entry.grant_types;
  const metadata = {
    client_id: entry.client_id,
    client_name: entry.name,
    grant_types: grants,
    response_types: grants.includes('authorization_code') ? ['code'] : [],
    redirect_uris: entry.redirect_uris || [],
  };
  if (entry.post_logout_redirect_uris) {
    metadata.post_logout_redirect_uris = entry.post_logout_redirect_uris;
  }
  if (entry.public) {
    // A command-line program: no secret, PKCE, a loopback redirect (RFC 8252).
    metadata.token_endpoint_auth_method = 'none';
    metadata.application_type = 'native';
  } else {
    metadata.client_secret = entry.client_secret;
    metadata.token_endpoint_auth_method = 'client_secret_basic';
  }
  return metadata;
}

/** What a person's (or a system's) access token says about them, beyond sub. */
function holderClaims(entry) {
  const claims = { name: entry.name, roles: entry.roles };
  if (entry.unit) claims.unit = entry.unit;
  if (entry.agency) claims.agency = entry.agency;
  if (entry.citizen_id) claims.citizen_id = entry.citizen_id;
  if (entry.username) claims.preferred_username = entry.username;
  return claims;
}

function digest(text) {
  return createHash('sha256').update(String(text), 'utf8').digest();
}

/** The person with these credentials, or undefined; the comparison takes the same time either way. */
function authenticate(username, password) {
  const person = people.get(username);
  const expected = digest(person ? person.password : randomBytes(16).toString('hex'));
  const matches = timingSafeEqual(expected, digest(password));
  return person && matches ? person : undefined;
}

async function findAccount(ctx, sub) {
  const person = people.get(sub);
  if (!person) return undefined;
  return {
    accountId: sub,
    async claims() {
      const claims = { sub, ...holderClaims(person) };
      if (person.email) claims.email = person.email;
      if (person.phone_number) claims.phone_number = person.phone_number;
      return claims;
    },
  };
}

// --- signing keys ------------------------------------------------------------------------------

function signingKeys(file) {
  if (existsSync(file)) {
    return JSON.parse(readFileSync(file, 'utf8'));
  }
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
  const jwks = { keys: [jwk] };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600 });
  console.log(`generated a new signing key ${jwk.kid} in ${file}`);
  return jwks;
}

// --- the provider ------------------------------------------------------------------------------

async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.set('content-security-policy', CONTENT_SECURITY_POLICY);
  ctx.body = errorPage(out);
}

const configuration = {
  clients: directory.clients.map(clientMetadata),
  jwks: signingKeys(KEYS_FILE),
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  findAccount,
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username', 'unit', 'agency', 'roles', 'citizen_id'],
    email: ['email'],
    phone: ['phone_number'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'phone'],
  responseTypes: ['code'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.type = 'html';
        ctx.body = logoutPage(form);
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.type = 'html';
        ctx.body = loggedOutPage();
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, indicator) => {
        if (indicator !== RESOURCE) throw new errors.InvalidTarget();
        return {
          scope: 'openid profile email phone',
          audience: AUDIENCE,
          accessTokenTTL: ACCESS_TOKEN_SECONDS,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  extraTokenClaims: async (ctx, token) => {
    if (token.kind === 'ClientCredentials') {
      const system = systems.get(token.clientId);
      return system?.roles ? holderClaims(system) : undefined;
    }
    const person = token.accountId ? people.get(token.accountId) : undefined;
    return person ? holderClaims(person) : undefined;
  },
  pkce: { required: () => true },
  interactions: { url: async (ctx, interaction) => `/interaction/${interaction.uid}` },
  renderError,
  ttl: {
    AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL || ACCESS_TOKEN_SECONDS,
    AuthorizationCode: 60,
    ClientCredentials: CLIENT_CREDENTIALS_SECONDS,
    IdToken: 60 * 60,
    Interaction: 60 * 60,
    RefreshToken: 24 * 60 * 60,
    Session: 24 * 60 * 60,
    Grant: 24 * 60 * 60,
  },
};

const provider = new Provider(ISSUER, configuration);
if (ISSUER.startsWith('https://')) provider.proxy = true; // behind a TLS-terminating proxy

// --- the interactions: our login page, consent granted for these first-party clients -----------

async function readForm(req, limit = 16 * 1024) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > limit) throw new errors.InvalidRequest('form too large');
  }
  return new URLSearchParams(body);
}

async function grantConsent(details) {
  const { prompt: { details: missing }, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const grantId = await grant.save();
  return details.grantId ? {} : { grantId };
}

async function showLogin(ctx, details, { username = '', error = '', status = 200 } = {}) {
  const client = await provider.Client.find(details.params.client_id);
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('content-security-policy', CONTENT_SECURITY_POLICY);
  ctx.body = loginPage({
    uid: details.uid,
    clientName: client?.clientName || details.params.client_id,
    username,
    error,
  });
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/health') {
    ctx.body = { status: 'ok', issuer: ISSUER };
    return undefined;
  }
  const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(ctx.path);
  if (!match) return next();
  ctx.set('cache-control', 'no-store');
  try {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (match[1] !== details.uid) throw new errors.SessionNotFound('interaction mismatch');
    const { prompt } = details;
    if (ctx.method === 'GET' && !match[2]) {
      if (prompt.name === 'login') return showLogin(ctx, details);
      if (prompt.name === 'consent') {
        // These clients are the platform's own: consent is granted, never asked.
        const consent = await grantConsent(details);
        return provider.interactionFinished(ctx.req, ctx.res, { consent }, {
          mergeWithLastSubmission: true,
        });
      }
      throw new errors.InvalidRequest(`unexpected prompt ${prompt.name}`);
    }
    if (ctx.method === 'POST' && match[2] && prompt.name === 'login') {
      const form = await readForm(ctx.req);
      const username = (form.get('username') || '').trim();
      const person = authenticate(username, form.get('password') || '');
      if (!person) {
        console.log(`sign-in refused for ${JSON.stringify(username.slice(0, 64))}`);
        return showLogin(ctx, details, { username, error: WRONG_LOGIN, status: 401 });
      }
      console.log(`signed in: ${person.username} (${details.params.client_id})`);
      return provider.interactionFinished(ctx.req, ctx.res, {
        login: { accountId: person.username },
      }, { mergeWithLastSubmission: false });
    }
    ctx.status = 405;
    ctx.body = 'Method Not Allowed';
    return undefined;
  } catch (err) {
    if (err instanceof errors.OIDCProviderError) {
      ctx.status = err.status;
      return renderError(ctx, { error: err.message, error_description: err.error_description });
    }
    throw err;
  }
});

provider.on('server_error', (ctx, err) => console.error('server_error', err));

provider.listen(PORT, HOST, () => {
  console.log(`development identity provider ${ISSUER} listening on ${HOST}:${PORT}`);
  console.log(`  discovery: ${ISSUER}/.well-known/openid-configuration, keys: ${KEYS_FILE}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
