// node-oidc-provider as bench/peers.sh measures it: one Node process, its models stored in
// MongoDB (the same database server Portcullis uses), opaque tokens (its default), refresh
// tokens rotated on every use.
//
//   node oidc_provider.mjs <port> <mongodb uri> <out dir> <refresh chains> [opaque|jwt]
//
// With `jwt`, client credentials are issued for a resource server whose access tokens are
// RS256 JWTs (RFC 9068, as Portcullis's, through its resource indicators), not stored.
//
// It has no password grant, so before it listens it mints, as its code flow would, one grant
// for the user `bench` with access tokens (for /me) and one refresh token per load connection,
// written to <out dir>/access.txt and <out dir>/refresh.txt. Its client `bench` has the secret
// in <out dir>/secret.txt.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';

import Provider from 'oidc-provider';
import { MongoClient } from 'mongodb';

const [port, uri, out, chains, clientCredentialsFormat = 'opaque'] = process.argv.slice(2);
const mongo = new MongoClient(uri);
await mongo.connect();
const db = mongo.db(`oidc_provider_${process.pid}`);

// The adapter oidc-provider asks for: one collection per model, documents keyed by id, the
// lookups it makes indexed.
class MongoAdapter {
  constructor(name) {
    this.collection = db.collection(name);
  }

  async upsert(_id, payload, expiresIn) {
    const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : undefined;
    await this.collection.updateOne(
      { _id },
      { $set: { payload, ...(expiresAt ? { expiresAt } : {}) } },
      { upsert: true },
    );
  }

  async find(_id) {
    const found = await this.collection.findOne({ _id }, { projection: { payload: 1 } });
    return found?.payload;
  }

  async findByUserCode(userCode) {
    const found = await this.collection.findOne({ 'payload.userCode': userCode });
    return found?.payload;
  }

  async findByUid(uid) {
    const found = await this.collection.findOne({ 'payload.uid': uid });
    return found?.payload;
  }

  async consume(_id) {
    await this.collection.updateOne({ _id }, { $set: { 'payload.consumed': Math.floor(Date.now() / 1000) } });
  }

  async destroy(_id) {
    await this.collection.deleteOne({ _id });
  }

  async revokeByGrantId(grantId) {
    await this.collection.deleteMany({ 'payload.grantId': grantId });
  }
}

for (const name of ['AccessToken', 'RefreshToken', 'ClientCredentials', 'Grant', 'Session', 'Interaction', 'AuthorizationCode']) {
  const collection = db.collection(name);
  await collection.createIndex({ 'payload.grantId': 1 });
  await collection.createIndex({ 'payload.uid': 1 });
  await collection.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 });
}

const secret = randomBytes(24).toString('base64url');
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  adapter: MongoAdapter,
  clients: [{
    client_id: 'bench',
    client_secret: secret,
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    redirect_uris: ['http://127.0.0.1:9/cb'],
    scope: 'openid offline_access',
  }],
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'bench', use: 'sig', alg: 'RS256' }] },
  findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: (ctx) => (clientCredentialsFormat === 'jwt'
        && ctx.oidc.params.grant_type === 'client_credentials' ? 'urn:bench:api' : undefined),
      getResourceServerInfo: () => ({
        scope: 'data:read',
        audience: 'urn:bench:api',
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  rotateRefreshToken: true,
  issueRefreshToken: () => true,
});

// What the code flow would leave behind for the user `bench`.
const client = await provider.Client.find('bench');
const grant = new provider.Grant({ accountId: 'bench', clientId: 'bench' });
grant.addOIDCScope('openid offline_access');
const grantId = await grant.save();
const minted = { accountId: 'bench', client, grantId, scope: 'openid offline_access', gty: 'authorization_code' };
const access = [];
const refresh = [];
for (let i = 0; i < Number(chains); i += 1) {
  access.push(await new provider.AccessToken(minted).save());
  refresh.push(await new provider.RefreshToken({ ...minted, authTime: Math.floor(Date.now() / 1000) }).save());
}
writeFileSync(`${out}/access.txt`, `${access.join('\n')}\n`);
writeFileSync(`${out}/refresh.txt`, `${refresh.join('\n')}\n`);
writeFileSync(`${out}/secret.txt`, secret);

provider.listen(Number(port), '127.0.0.1');
