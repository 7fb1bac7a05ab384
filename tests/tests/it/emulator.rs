//! Lifeboat's extensions to the emulator (`tests/emulator/lifeboat_emulator/`), checked through
//! the real AWS SDK against what the AWS API reference says the service answers.

use lifeboat_tests::Emulator;
use lifeboat_tests::world::World;

/// `DBSnapshot.OptionGroupName` — "Provides the option group name for the DB snapshot": the
/// group the instance had when the snapshot was taken, a custom one or the engine's default.
#[tokio::test]
async fn db_snapshots_name_the_option_group_of_their_instance() {
    let world = World::new(Emulator::shared().new_account().await);
    world.sql_server_instance("shop", Some("shop-tde")).await;
    world.sql_server_instance("plain", None).await;
    world.snapshot("shop", "shop-manual").await;

    let snapshots = world
        .primary_rds
        .describe_db_snapshots()
        .send()
        .await
        .unwrap();
    let group_of = |id_prefix: &str| {
        snapshots
            .db_snapshots()
            .iter()
            .filter(|s| {
                s.db_snapshot_identifier()
                    .unwrap_or_default()
                    .starts_with(id_prefix)
            })
            .map(|s| s.option_group_name().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert_eq!(group_of("shop-manual"), [Some("shop-tde".to_owned())]);
    assert_eq!(
        group_of("rds:shop-"),
        [Some("shop-tde".to_owned())],
        "automated too"
    );
    let default = group_of("rds:plain-");
    assert_eq!(default.len(), 1);
    assert!(
        default[0]
            .as_deref()
            .is_some_and(|g| g.starts_with("default:sqlserver-se")),
        "{default:?}"
    );
}
