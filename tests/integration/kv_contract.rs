//! The key-value contract: every test runs against Redis and against the in-process store; so do
//! the session stores built on them.

use crate::helpers::unique;
use skymeet::server::{
    kv::{KvError, KvStore, MemoryKv},
    session::SessionBackend,
};
use std::time::Duration;

macro_rules! contract {
    ($($test:ident),* $(,)?) => {
        mod redis {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(crate::helpers::kv(true).await).await;
                }
            )*
        }
        mod memory {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(crate::helpers::kv(false).await).await;
                }
            )*
        }
    };
}

contract!(
    values_are_stored_read_and_deleted,
    values_expire_after_their_ttl,
    only_one_of_many_concurrent_claims_wins,
    a_zero_ttl_is_refused,
);

async fn values_are_stored_read_and_deleted(kv: KvStore) {
    kv.ping().await.expect("ping");
    let key = unique("test:kv:");
    assert_eq!(kv.get(&key).await.expect("get"), None);
    kv.set(&key, b"first", Duration::from_secs(60)).await.expect("set");
    kv.set(&key, b"second", Duration::from_secs(60))
        .await
        .expect("overwrite");
    assert_eq!(kv.get(&key).await.expect("get").as_deref(), Some(&b"second"[..]));
    let ttl = kv.ttl(&key).await.expect("ttl").expect("has a ttl");
    assert!(
        ttl > Duration::from_secs(55) && ttl <= Duration::from_secs(60),
        "{ttl:?}"
    );
    assert!(kv.delete(&key).await.expect("delete"));
    assert!(!kv.delete(&key).await.expect("delete again"));
    assert_eq!(kv.get(&key).await.expect("get"), None);
    assert_eq!(kv.ttl(&key).await.expect("ttl"), None);
}

async fn values_expire_after_their_ttl(kv: KvStore) {
    let key = unique("test:kv:");
    kv.set(&key, b"short-lived", Duration::from_millis(100))
        .await
        .expect("set");
    assert!(kv.get(&key).await.expect("get").is_some());
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(kv.get(&key).await.expect("get"), None);
    if let KvStore::Memory(memory) = &kv {
        assert_eq!(memory.purge_expired(), 1);
        assert!(memory.is_empty());
    }
}

async fn only_one_of_many_concurrent_claims_wins(kv: KvStore) {
    let key = unique("test:lock:");
    let claims = (0..20).map(|i| {
        let kv = kv.clone();
        let key = key.clone();
        tokio::spawn(async move {
            kv.set_if_absent(&key, format!("owner-{i}").as_bytes(), Duration::from_secs(30))
                .await
        })
    });
    let mut winners = 0;
    for claim in claims {
        if claim.await.expect("task").expect("claim") {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    kv.delete(&key).await.expect("release");
    assert!(kv
        .set_if_absent(&key, b"next", Duration::from_secs(30))
        .await
        .expect("claim after release"));
    kv.delete(&key).await.expect("clean up");
}

async fn a_zero_ttl_is_refused(kv: KvStore) {
    let key = unique("test:kv:");
    assert!(matches!(
        kv.set(&key, b"x", Duration::ZERO).await,
        Err(KvError::ZeroTtl)
    ));
    assert_eq!(kv.get(&key).await.expect("get"), None);
}

/// A session another request deleted (a sign-out) while this one still held it is not saved back
/// by this one's change, on both session stores.
async fn a_session_deleted_meanwhile_is_not_saved_again(sessions: SessionBackend) {
    use tower_sessions::{
        session::{Id, Record},
        SessionStore,
    };
    let mut record = Record {
        id: Id::default(),
        data: [("user_id".to_owned(), serde_json::json!(7))].into_iter().collect(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    sessions.create(&mut record).await.expect("created");
    record
        .data
        .insert("time_zone".to_owned(), serde_json::json!("Europe/Berlin"));
    sessions.save(&record).await.expect("saved");
    let stored = sessions.load(&record.id).await.expect("loaded").expect("still there");
    assert_eq!(stored.data["time_zone"], "Europe/Berlin", "a stored session is saved");

    sessions.delete(&record.id).await.expect("deleted");
    sessions.save(&record).await.expect("saved");
    assert!(
        sessions.load(&record.id).await.expect("loaded").is_none(),
        "a deleted session stays deleted"
    );
}

#[tokio::test]
async fn a_session_deleted_meanwhile_is_not_saved_again_in_redis() {
    let pool = crate::helpers::redis_pool().await;
    a_session_deleted_meanwhile_is_not_saved_again(SessionBackend::new(Some(&pool), MemoryKv::default())).await;
}

#[tokio::test]
async fn a_session_deleted_meanwhile_is_not_saved_again_in_memory() {
    a_session_deleted_meanwhile_is_not_saved_again(SessionBackend::new(None, MemoryKv::default())).await;
}
