// Message protobuf subset vectors: the oracle's proto.Message encodings of text, media,
// reaction, edit and revoke messages (our prost types must decode and re-encode them).
import { proto } from 'baileys';

export function messageVectors() {
  const key = { remoteJid: '491701234567@s.whatsapp.net', fromMe: true, id: '3EB0A1B2C3D4' };
  const cases = {
    text: { conversation: 'hello 🙂' },
    extended_reply: { extendedTextMessage: { text: 'quoted', contextInfo: { stanzaId: 'ABC', participant: '4917@s.whatsapp.net', quotedMessage: { conversation: 'orig' }, mentionedJid: ['1@s.whatsapp.net'] } } },
    image: { imageMessage: { url: 'https://mmg.whatsapp.net/x', mimetype: 'image/jpeg', caption: 'pic', fileSha256: Buffer.alloc(32, 1), fileLength: 12345, height: 640, width: 480, mediaKey: Buffer.alloc(32, 2), fileEncSha256: Buffer.alloc(32, 3), directPath: '/v/t62/x', mediaKeyTimestamp: 1717171717 } },
    document: { documentMessage: { mimetype: 'application/pdf', fileName: 'a.pdf', fileLength: 99, mediaKey: Buffer.alloc(32, 4), caption: 'doc' } },
    audio: { audioMessage: { mimetype: 'audio/ogg; codecs=opus', seconds: 7, ptt: true, mediaKey: Buffer.alloc(32, 5) } },
    video: { videoMessage: { mimetype: 'video/mp4', seconds: 3, caption: 'vid', gifPlayback: false, mediaKey: Buffer.alloc(32, 6) } },
    reaction: { reactionMessage: { key, text: '👍', senderTimestampMs: 1717171717000 } },
    revoke: { protocolMessage: { key, type: 0 } },
    edit: { protocolMessage: { key, type: 14, editedMessage: { conversation: 'edited' }, timestampMs: 1717171717123 } },
    skdm: { senderKeyDistributionMessage: { groupId: '120363@g.us', axolotlSenderKeyDistributionMessage: Buffer.alloc(40, 9) }, messageContextInfo: { messageSecret: Buffer.alloc(32, 7) } },
  };
  return {
    oracle: 'baileys@6.7.21',
    messages: Object.entries(cases).map(([name, m]) => ({ name, hex: Buffer.from(proto.Message.encode(proto.Message.fromObject(m)).finish()).toString('hex') })),
  };
}
