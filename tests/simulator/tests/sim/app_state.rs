//! App-state sync: two devices of one account and the phone share collections through
//! the server; uploads are verified with the phone's key, stale ones get 409, the
//! other devices hear `server_sync`; the phone shares its key with a device that
//! published its pre-keys, end-to-end encrypted.

use prost::Message as _;
use rand_core::OsRng;
use wa_proto::appstate::sync::{
    CollectionAnswer, CollectionRequest, parse_server_sync, parse_sync_answer, sync_request,
};
use wa_proto::appstate::{
    ChatAction, Collection, CollectionState, MessageRef, SyncKey, decode_patch, encode_patch,
    shared_keys,
};
use wa_proto::binary::Node;
use wa_proto::prekeys;
use wa_proto::proto::appstate as pb;
use wa_proto::proto::message::Message;
use wa_proto::signal::cipher::{PreKeySignalMessage, decrypt_prekey_message};
use wa_proto::signal::keys::LocalIdentity;
use wa_proto::signal::{SessionRecord, unpad_message};

use crate::driver::{Client, user};
use crate::flows::{link_by_qr, login};
use crate::sim;

const PHONE: &str = "15552220001";

fn star(id: &str) -> ChatAction {
    ChatAction::Star {
        message: MessageRef {
            chat: "15552220002@s.whatsapp.net".into(),
            id: id.into(),
            from_me: false,
            participant: None,
        },
        starred: true,
    }
}

/// `action` encoded as a patch on top of `state` with `key`.
fn patch(action: &ChatAction, key: &SyncKey, state: &CollectionState) -> pb::SyncdPatch {
    let index = action.index_json();
    encode_patch(
        &action.patch_input(&index, 1_700_000_000_000),
        &key.id,
        &key.data,
        state,
        &mut OsRng,
    )
    .unwrap()
    .0
}

async fn sync(client: &mut Client, id: &str, request: CollectionRequest) -> CollectionAnswer {
    let answer = client.iq(sync_request(id, &[request])).await;
    let mut answers = parse_sync_answer(&answer).expect("sync answer");
    assert_eq!(answers.len(), 1);
    answers.remove(0)
}

/// Fetches `collection`'s whole patch history (no snapshot) and decodes it
/// with `key`: the state and actions.
async fn fetch_all(
    client: &mut Client,
    id: &str,
    collection: Collection,
    key: &SyncKey,
) -> (CollectionState, Vec<ChatAction>) {
    let request = CollectionRequest {
        return_snapshot: false,
        ..CollectionRequest::fetch(collection, 0)
    };
    let answer = sync(client, id, request).await;
    assert!(answer.snapshot.is_none(), "a snapshot nobody asked for");
    assert_eq!(answer.error, None);
    let mut state = CollectionState::default();
    let mut actions = Vec::new();
    for p in &answer.patches {
        let (next, mutations) = decode_patch(p, collection.name(), &state, |k| {
            (k == key.id.as_slice()).then(|| key.data.clone())
        })
        .expect("the server hands out verifiable patches");
        state = next;
        actions.extend(mutations.iter().filter_map(ChatAction::from_mutation));
    }
    assert_eq!(state.version, answer.version);
    (state, actions)
}

async fn wait_server_sync(client: &mut Client, collection: Collection) -> Node {
    let node = client
        .wait_node("notification", |n| {
            n.attr_str("type").as_deref() == Some("server_sync")
                && parse_server_sync(n).is_ok_and(|c| c.iter().any(|(c, _)| *c == collection))
        })
        .await;
    client.ack(&node);
    node
}

#[tokio::test]
async fn uploads_are_verified_ordered_and_announced() {
    let sim = sim().await;
    let a_creds = link_by_qr(&sim, PHONE).await;
    let b_creds = link_by_qr(&sim, PHONE).await;
    let mut a = login(&sim, &a_creds).await;
    let mut b = login(&sim, &b_creds).await;
    let key = sim.app_state_key(PHONE);

    // A stars a message on top of the empty collection.
    let first = patch(&star("m1"), &key, &CollectionState::default());
    let answer = sync(
        &mut a,
        "s1",
        CollectionRequest::upload(Collection::RegularHigh, 0, first),
    )
    .await;
    assert_eq!((answer.error, answer.version), (None, 1));
    let note = wait_server_sync(&mut b, Collection::RegularHigh).await;
    assert_eq!(
        parse_server_sync(&note).unwrap(),
        [(Collection::RegularHigh, Some(1))]
    );
    let (state, actions) = fetch_all(&mut b, "s2", Collection::RegularHigh, &key).await;
    assert_eq!(actions, [star("m1")]);
    assert_eq!(
        sim.app_state_actions(PHONE, Collection::RegularHigh),
        [star("m1")]
    );

    // A patch still built on version 0 is stale: 409, nothing stored.
    let stale = patch(&star("m2"), &key, &CollectionState::default());
    let answer = sync(
        &mut a,
        "s3",
        CollectionRequest::upload(Collection::RegularHigh, 0, stale),
    )
    .await;
    assert!(answer.is_conflict(), "{answer:?}");
    // Rebuilt on the current state, it goes through as version 2.
    let rebuilt = patch(&star("m2"), &key, &state);
    let answer = sync(
        &mut a,
        "s4",
        CollectionRequest::upload(Collection::RegularHigh, 1, rebuilt),
    )
    .await;
    assert_eq!((answer.error, answer.version), (None, 2));

    // A patch under a key the phone never made is refused, not stored.
    let stranger = SyncKey {
        id: key.id.clone(),
        data: vec![0x55; 32],
        timestamp: 0,
    };
    let (state, _) = fetch_all(&mut a, "s5", Collection::RegularHigh, &key).await;
    let forged = patch(&star("m3"), &stranger, &state);
    let answer = sync(
        &mut a,
        "s6",
        CollectionRequest::upload(Collection::RegularHigh, 2, forged),
    )
    .await;
    assert!(
        matches!(&answer.error, Some(wa_proto::StanzaError::Server { code, .. }) if code == "400"),
        "{answer:?}"
    );
    assert_eq!(
        sim.app_state_actions(PHONE, Collection::RegularHigh),
        [star("m1"), star("m2")]
    );
    // Fetching from a version returns only what came after it.
    let later = sync(
        &mut b,
        "s7",
        CollectionRequest::fetch(Collection::RegularHigh, 1),
    )
    .await;
    assert_eq!((later.version, later.patches.len()), (2, 1));
}

#[tokio::test]
async fn the_phone_pushes_to_every_device() {
    let sim = sim().await;
    let a_creds = link_by_qr(&sim, PHONE).await;
    let b_creds = link_by_qr(&sim, PHONE).await;
    let mut a = login(&sim, &a_creds).await;
    let mut b = login(&sim, &b_creds).await;
    let key = sim.app_state_key(PHONE);
    let pin = ChatAction::Pin {
        chat: "15552220002@s.whatsapp.net".into(),
        pinned: true,
    };
    let name = ChatAction::PushName {
        name: "Phone".into(),
    };
    assert_eq!(sim.push_app_state(PHONE, &pin), 1);
    assert_eq!(sim.push_app_state(PHONE, &name), 1);
    for client in [&mut a, &mut b] {
        wait_server_sync(client, Collection::RegularLow).await;
        wait_server_sync(client, Collection::CriticalBlock).await;
    }
    let (_, actions) = fetch_all(&mut a, "p1", Collection::RegularLow, &key).await;
    assert_eq!(actions, [pin]);
    let (_, actions) = fetch_all(&mut b, "p2", Collection::CriticalBlock, &key).await;
    assert_eq!(actions, [name]);
    // A collection nobody changed is empty at version 0.
    let other = sync(
        &mut a,
        "p3",
        CollectionRequest::fetch(Collection::Regular, 0),
    )
    .await;
    assert_eq!((other.version, other.patches.len()), (0, 0));
}

#[tokio::test]
async fn the_phone_shares_its_key_once_the_device_publishes_keys() {
    let sim = wa_simulator::Simulator::start(wa_simulator::SimulatorConfig {
        share_app_state_keys: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let creds = link_by_qr(&sim, PHONE).await;
    let me = creds.me.clone().unwrap();
    let mut device = login(&sim, &creds).await;
    let keys = prekeys::generate(&mut OsRng, 1, 3);
    let up = device.iq(prekeys::upload_node("up-1", &creds, &keys)).await;
    assert_eq!(up.attr_str("type").as_deref(), Some("result"));
    let share = device
        .wait_node("message", |n| n.attr_jid("from") == Some(user(PHONE)))
        .await;
    device.ack(&share);
    let enc = share.get_child("enc").unwrap();
    assert_eq!(enc.attr_str("type").as_deref(), Some("pkmsg"));
    let msg = PreKeySignalMessage::parse(enc.content_bytes().unwrap()).unwrap();
    let one_time = keys
        .iter()
        .find(|k| Some(k.id) == msg.pre_key_id)
        .map(|k| &k.key);
    assert!(
        one_time.is_some(),
        "the phone took one of the device's pre-keys"
    );
    let local = LocalIdentity {
        key_pair: creds.identity_key.clone(),
        registration_id: creds.registration_id,
    };
    let decrypted = decrypt_prekey_message(
        &mut SessionRecord::new(),
        &local,
        &msg,
        Some(&creds.signed_pre_key.key),
        one_time,
        &mut OsRng,
    )
    .expect("the device decrypts the phone's message");
    let message = Message::decode(unpad_message(&decrypted.plaintext).unwrap()).expect("a Message");
    assert_eq!(shared_keys(&message), Some(vec![sim.app_state_key(PHONE)]));
    assert_eq!(sim.prekey_count(&me), 2);
    // Publishing keys again does not share again.
    let more = prekeys::generate(&mut OsRng, 10, 2);
    device.iq(prekeys::upload_node("up-2", &creds, &more)).await;
    assert_eq!(sim.prekey_count(&me), 4);
    assert_eq!(sim.queued(&me), 0);
}

#[tokio::test]
async fn without_the_setting_the_phone_shares_nothing() {
    let sim = sim().await;
    let creds = link_by_qr(&sim, PHONE).await;
    let me = creds.me.clone().unwrap();
    let mut device = login(&sim, &creds).await;
    let keys = prekeys::generate(&mut OsRng, 1, 3);
    device.iq(prekeys::upload_node("up-1", &creds, &keys)).await;
    assert_eq!((sim.prekey_count(&me), sim.queued(&me)), (3, 0));
}
