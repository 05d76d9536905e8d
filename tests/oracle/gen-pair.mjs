// Pairing vectors built with the oracle's own logic and primitives:
// pair-success stanzas accepted by its configureSuccessfulPairing, registration/login
// payloads, the pairing-code crypto, and the pre-key upload stanza.
import { S_WHATSAPP_NET, proto, Curve, encodeBinaryNode, configureSuccessfulPairing, generateRegistrationNode, generateLoginNode, hmacSign, aesEncryptCTR, aesDecryptCTR, hkdf, aesEncryptGCM, derivePairingCodeKey, bytesToCrockford, xmppPreKey, xmppSignedPreKey } from 'baileys';
import { fixedKeyPair, toJson } from './lib.mjs';

const hex = (b) => Buffer.from(b).toString('hex');
const fill = (n, v) => Buffer.alloc(n, v);

function pairSuccessStanza({ identity, advSecret, account, jid, hosted, tamperHmac }) {
  const details = proto.ADVDeviceIdentity.encode({ rawId: 987654, timestamp: 1717171717, keyIndex: 3, ...(hosted ? { accountType: 1, deviceType: 1 } : {}) }).finish();
  const accountSignature = Curve.sign(account.private, Buffer.concat([Buffer.from([6, 0]), details, identity.public]));
  const signed = proto.ADVSignedDeviceIdentity.encode({ details, accountSignatureKey: account.public, accountSignature }).finish();
  let hmac = hmacSign(Buffer.concat([hosted ? Buffer.from([6, 5]) : Buffer.alloc(0), signed]), advSecret);
  if (tamperHmac) { hmac = Buffer.from(hmac); hmac[0] ^= 1; }
  const container = proto.ADVSignedDeviceIdentityHMAC.encode({ details: signed, hmac, ...(hosted ? { accountType: 1 } : {}) }).finish();
  return {
    tag: 'iq', attrs: { from: 's.whatsapp.net', id: 'ps-77', type: 'set', xmlns: 'md' },
    content: [{ tag: 'pair-success', attrs: {}, content: [
      { tag: 'device-identity', attrs: {}, content: Buffer.from(container) },
      { tag: 'platform', attrs: { name: 'android' } },
      { tag: 'device', attrs: { jid, lid: '123456789012345:9@lid' } },
      { tag: 'biz', attrs: { name: 'Acme' } },
    ] }],
  };
}

export async function pairVectors() {
  const identity = fixedKeyPair('identity');
  const account = fixedKeyPair('account');
  const advSecret = createAdv();
  const jid = '491701234567:9@s.whatsapp.net';
  const success = [];
  for (const [name, opts] of [['e2ee', {}], ['hosted', { hosted: true }], ['bad_hmac', { tamperHmac: true }]]) {
    const stanza = pairSuccessStanza({ identity, advSecret, account, jid, ...opts });
    let reply = null, error = null;
    try {
      reply = configureSuccessfulPairing(stanza, { advSecretKey: advSecret.toString('base64'), signedIdentityKey: identity, signalIdentities: [] }).reply;
    } catch (e) { error = e.message; }
    success.push({ name, hosted: !!opts.hosted, stanza: hex(encodeBinaryNode(stanza)), oracle_reply: reply && toJson(reply), oracle_error: error });
  }

  // Payloads (same creds/config as noise.json's client payload).
  const spk = fixedKeyPair('signed_prekey');
  const creds = { registrationId: 0x1234, signedPreKey: { keyId: 1, keyPair: spk, signature: fill(64, 7) }, signedIdentityKey: identity };
  const config = { version: [2, 3000, 1023223821], browser: ['Ubuntu', 'Chrome', '22.04.4'], countryCode: 'US', syncFullHistory: false };
  const registration = hex(proto.ClientPayload.encode(generateRegistrationNode(creds, config)).finish());
  const login = hex(proto.ClientPayload.encode(generateLoginNode(jid, config)).finish());

  // Pairing code, with fixed randomness fed to the oracle's primitives.
  const code = bytesToCrockford(Buffer.from([0x9a, 0x31, 0x7c, 0x05, 0xee]));
  const companionEph = fixedKeyPair('pair_code_companion_ephemeral');
  const primaryEph = fixedKeyPair('pair_code_primary_ephemeral');
  const primaryIdentity = fixedKeyPair('pair_code_primary_identity');
  const wrap = async (pub, salt, iv) => Buffer.concat([salt, iv, aesEncryptCTR(pub, Buffer.from(await derivePairingCodeKey(code, salt)), iv)]);
  const companionWrapped = await wrap(companionEph.public, fill(32, 1), fill(16, 2));
  const primaryWrapped = await wrap(primaryEph.public, fill(32, 3), fill(16, 4));
  // Companion's primary_hello handling, as the oracle's messages-recv does it.
  const primaryPub = aesDecryptCTR(primaryWrapped.subarray(48, 80), Buffer.from(await derivePairingCodeKey(code, primaryWrapped.subarray(0, 32))), primaryWrapped.subarray(32, 48));
  const companionShared = Curve.sharedKey(companionEph.private, primaryPub);
  const random = fill(32, 5), linkSalt = fill(32, 6), iv = fill(12, 8);
  const bundleKey = await hkdf(companionShared, 32, { salt: linkSalt, info: 'link_code_pairing_key_bundle_encryption_key' });
  const encrypted = aesEncryptGCM(Buffer.concat([identity.public, primaryIdentity.public, random]), bundleKey, iv, Buffer.alloc(0));
  const identityShared = Curve.sharedKey(identity.private, primaryIdentity.public);
  const adv = await hkdf(Buffer.concat([companionShared, identityShared, random]), 32, { info: 'adv_secret' });
  const notification = {
    tag: 'notification', attrs: { from: 's.whatsapp.net', id: 'n-1', type: 'link_code_companion_reg' },
    content: [{ tag: 'link_code_companion_reg', attrs: { stage: 'primary_hello' }, content: [
      { tag: 'link_code_pairing_ref', attrs: {}, content: Buffer.from('ref-abc') },
      { tag: 'primary_identity_pub', attrs: {}, content: primaryIdentity.public },
      { tag: 'link_code_pairing_wrapped_primary_ephemeral_pub', attrs: {}, content: primaryWrapped },
    ] }],
  };

  // Pre-key upload stanza, shaped as the oracle's getNextPreKeysNode.
  const preKeys = [1, 2, 3].map((i) => ({ id: i, pair: fixedKeyPair(`prekey_${i}`) }));
  const upload = {
    tag: 'iq', attrs: { id: 'pk-1', xmlns: 'encrypt', type: 'set', to: S_WHATSAPP_NET },
    content: [
      { tag: 'registration', attrs: {}, content: Buffer.from([0, 0, 0x12, 0x34]) },
      { tag: 'type', attrs: {}, content: Buffer.from([5]) },
      { tag: 'identity', attrs: {}, content: identity.public },
      { tag: 'list', attrs: {}, content: preKeys.map((p) => xmppPreKey(p.pair, p.id)) },
      xmppSignedPreKey(creds.signedPreKey),
    ],
  };

  return {
    oracle: 'baileys@6.7.21',
    note: 'keys: private = sha256("wa-proto vector: <name>"); adv secret = 32 x 0x2a',
    adv_secret: hex(advSecret), jid,
    pair_success: success,
    registration_payload: registration, login_payload: login,
    pair_code: {
      crockford_input: '9a317c05ee', code,
      companion_wrapped: hex(companionWrapped), primary_wrapped: hex(primaryWrapped),
      notification: hex(encodeBinaryNode(notification)),
      random: hex(random), salt: hex(linkSalt), iv: hex(iv),
      wrapped_key_bundle: hex(Buffer.concat([linkSalt, iv, encrypted])),
      adv_secret: hex(adv),
    },
    prekey_upload: { tree: toJson(upload), hex: hex(encodeBinaryNode(upload)) },
  };
}

function createAdv() { return Buffer.alloc(32, 0x2a); }
