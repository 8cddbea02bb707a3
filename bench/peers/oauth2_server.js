// @node-oauth/oauth2-server as bench/peers.sh measures it: one Node process on node:http,
// its model in MongoDB (the same database server Portcullis uses), opaque tokens stored as
// SHA-256 hashes, the client secret as a SHA-256 hash, the user's password as Argon2id with
// Portcullis's parameters; refresh tokens rotate (the library's default).
//
//   node oauth2_server.js <port> <mongodb uri> <password> <out dir>
//
// Its client `bench` has the secret in <out dir>/secret.txt; the user `bench` has <password>.
'use strict';
const { createHash, randomBytes, timingSafeEqual } = require('node:crypto');
const { writeFileSync } = require('node:fs');
const http = require('node:http');

const argon2 = require('argon2');
const { MongoClient } = require('mongodb');
const OAuth2Server = require('@node-oauth/oauth2-server');

const { Request, Response } = OAuth2Server;
const [port, uri, password, out] = process.argv.slice(2);
const sha256 = (value) => createHash('sha256').update(value).digest('hex');

async function main() {
  const mongo = new MongoClient(uri);
  await mongo.connect();
  const db = mongo.db(`oauth2_server_${process.pid}`);
  const clients = db.collection('clients');
  const users = db.collection('users');
  const accessTokens = db.collection('access_tokens');
  const refreshTokens = db.collection('refresh_tokens');
  await users.createIndex({ username: 1 }, { unique: true });

  const secret = randomBytes(24).toString('base64url');
  await clients.insertOne({
    _id: 'bench',
    secretHash: sha256(secret),
    grants: ['password', 'refresh_token', 'client_credentials'],
  });
  await users.insertOne({
    username: 'bench',
    passwordHash: await argon2.hash(password, {
      type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1,
    }),
  });
  writeFileSync(`${out}/secret.txt`, secret);

  const model = {
    async getClient(clientId, clientSecret) {
      const client = await clients.findOne({ _id: clientId });
      if (!client) return false;
      if (clientSecret !== null && clientSecret !== undefined) {
        const given = Buffer.from(sha256(clientSecret));
        if (!timingSafeEqual(given, Buffer.from(client.secretHash))) return false;
      }
      return { id: client._id, grants: client.grants };
    },
    async getUser(username, given) {
      const user = await users.findOne({ username });
      if (!user || !(await argon2.verify(user.passwordHash, given))) return false;
      return { id: user.username };
    },
    async getUserFromClient(client) {
      return { id: `client:${client.id}` };
    },
    async validateScope(_user, _client, scope) {
      return scope || ['data:read'];
    },
    async saveToken(token, client, user) {
      await accessTokens.insertOne({
        _id: sha256(token.accessToken),
        expiresAt: token.accessTokenExpiresAt,
        scope: token.scope,
        clientId: client.id,
        userId: user.id,
      });
      if (token.refreshToken) {
        await refreshTokens.insertOne({
          _id: sha256(token.refreshToken),
          expiresAt: token.refreshTokenExpiresAt,
          scope: token.scope,
          clientId: client.id,
          userId: user.id,
        });
      }
      return { ...token, client, user };
    },
    async getAccessToken(accessToken) {
      const found = await accessTokens.findOne({ _id: sha256(accessToken) });
      if (!found) return false;
      return {
        accessToken,
        accessTokenExpiresAt: found.expiresAt,
        scope: found.scope,
        client: { id: found.clientId },
        user: { id: found.userId },
      };
    },
    async getRefreshToken(refreshToken) {
      const found = await refreshTokens.findOne({ _id: sha256(refreshToken) });
      if (!found) return false;
      return {
        refreshToken,
        refreshTokenExpiresAt: found.expiresAt,
        scope: found.scope,
        client: { id: found.clientId },
        user: { id: found.userId },
      };
    },
    // Single use: only the request that deletes the token goes on.
    async revokeToken(token) {
      const deleted = await refreshTokens.deleteOne({ _id: sha256(token.refreshToken) });
      return deleted.deletedCount === 1;
    },
    async verifyScope() {
      return true;
    },
  };
  const oauth = new OAuth2Server({ model, requireClientAuthentication: { password: true } });

  const answer = (res, response) => {
    res.writeHead(response.status, { 'content-type': 'application/json', ...response.headers });
    res.end(JSON.stringify(response.body));
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', async () => {
      const url = new URL(req.url, 'http://localhost');
      const request = new Request({
        method: req.method,
        headers: req.headers,
        query: Object.fromEntries(url.searchParams),
        body: Object.fromEntries(new URLSearchParams(body)),
      });
      const response = new Response(res);
      try {
        if (req.method === 'POST' && url.pathname === '/oauth/token') {
          await oauth.token(request, response);
          answer(res, response);
        } else if (req.method === 'GET' && url.pathname === '/api/me') {
          const token = await oauth.authenticate(request, response);
          answer(res, { status: 200, headers: {}, body: { sub: token.user.id, scope: token.scope } });
        } else {
          answer(res, { status: 404, headers: {}, body: { error: 'not_found' } });
        }
      } catch (error) {
        const status = error.code || 500;
        answer(res, { status, headers: {}, body: { error: error.name, error_description: error.message } });
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(Number(port), '127.0.0.1');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
