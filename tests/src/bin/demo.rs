//! The demo: Lifeboat's snapshot and AWS Backup copies against a local AWS emulator, from
//! nothing.
//!
//! `cargo run -p lifeboat-tests --bin demo` installs the pinned emulator (moto) into `.venv` if
//! needed, starts it, seeds a primary Region (us-west-2) with two PostgreSQL instances — one
//! KMS-encrypted — and an Aurora MySQL cluster with snapshots, creates what Lifeboat's stack
//! would in the recovery Region (us-east-2), writes a plan to `.lifeboat-demo/plan.toml`, then
//! runs `lifeboat copy snapshots` twice: the first run copies, the second finds nothing to do.
//! Then the same for AWS Backup: recovery points of EC2 instances and an EBS volume in the
//! primary Region's `Default` vault, `lifeboat copy backups` copying them to the `dr` vault.
//!
//! With `--serve`, the emulator stays up afterwards (until Enter or end of input), so the CLI or
//! the Lambda under `cargo lambda watch` can be run against the same seeded world by hand.

use std::process::ExitCode;

use lifeboat_tests::Emulator;
use lifeboat_tests::world::{PRIMARY, RECOVERY, World, backup_role};

/// moto's default account: every request with unknown credentials acts in it.
const DEMO_ACCOUNT: &str = "123456789012";

fn main() -> ExitCode {
    println!(
        "Lifeboat demo: cross-Region snapshot and AWS Backup copies against a local AWS emulator\n"
    );
    let emulator = Emulator::start();
    // The CLI reads its AWS settings from the environment, like it would in a shell. Set them
    // before any thread starts.
    // SAFETY: single-threaded here; the async runtime is built below.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL", emulator.endpoint());
        std::env::set_var("AWS_ACCESS_KEY_ID", "demo");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "demo");
        std::env::set_var("AWS_REGION", RECOVERY);
        std::env::remove_var("AWS_PROFILE");
        std::env::remove_var("AWS_SESSION_TOKEN");
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let status = runtime.block_on(demo(&emulator));
    if std::env::args().any(|a| a == "--serve") {
        serve(&emulator);
    }
    status
}

/// Keeps the seeded emulator up and says how to use it from another shell.
fn serve(emulator: &Emulator) {
    let plan = lifeboat_tests::venv::workspace_root().join(".lifeboat-demo/plan.toml");
    let plan = plan.display();
    let endpoint = emulator.endpoint();
    println!(
        "\n── the emulator stays up; in another shell:\n\n\
         export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION={RECOVERY}\n\
         cargo run -p lifeboat-cli -- copy snapshots --plan {plan} --dry-run\n\n\
         # the Lambda, with cargo-lambda (docs/deploy.md):\n\
         cargo lambda watch -A 127.0.0.1 -P 9000 --env-var LIFEBOAT_PLAN={plan}\n\
         cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port 9000 copy-snapshots --data-file events/schedule.json\n\n\
         Press Enter to stop the emulator."
    );
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

async fn demo(emulator: &Emulator) -> ExitCode {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let account = lifeboat_tests::Account {
        id: DEMO_ACCOUNT.into(),
        access_key_id: "demo".into(),
        config,
    };
    let world = World::new(account);
    println!(
        "emulator  {} (moto, account {DEMO_ACCOUNT})",
        emulator.endpoint()
    );

    world.recovery_stack("lifeboat").await;
    let primary_key = world.kms_key(PRIMARY).await;
    let recovery_key = world.kms_key(RECOVERY).await;
    world.db_instance("orders", None, &[("dr", "true")]).await;
    world
        .db_instance("billing", Some(&primary_key), &[("dr", "true")])
        .await;
    world.db_cluster("phoenix-aurora", None, &[]).await;
    world.snapshot("orders", "orders-manual-1").await;
    world.snapshot("billing", "billing-manual-1").await;
    world
        .cluster_snapshot("phoenix-aurora", "phoenix-aurora-manual-1")
        .await;
    println!(
        "seeded    {PRIMARY}: DB instances orders and billing (KMS-encrypted), tagged dr=true;\n          \
         Aurora cluster phoenix-aurora; one automated and one manual snapshot each"
    );
    world.backup_vault(PRIMARY, "Default").await;
    let dr_vault = world.backup_vault(RECOVERY, "dr").await;
    for resource in [
        format!("arn:aws:ec2:{PRIMARY}:{DEMO_ACCOUNT}:instance/i-0a1b2c3d4e5f60001"),
        format!("arn:aws:ec2:{PRIMARY}:{DEMO_ACCOUNT}:instance/i-0a1b2c3d4e5f60002"),
        format!("arn:aws:ec2:{PRIMARY}:{DEMO_ACCOUNT}:volume/vol-0a1b2c3d4e5f60003"),
    ] {
        world.recovery_point(PRIMARY, "Default", &resource).await;
    }
    println!(
        "          AWS Backup vault Default: recovery points of two EC2 instances and an EBS volume"
    );
    println!(
        "          {RECOVERY}: state bucket {}, event bus lifeboat, KMS key for copies, backup vault dr",
        world.state_bucket()
    );

    let dir = lifeboat_tests::venv::workspace_root().join(".lifeboat-demo");
    std::fs::create_dir_all(&dir).expect("create .lifeboat-demo");
    let plan_path = dir.join("plan.toml");
    let plan = format!(
        r#"# Written by the demo. Check it with: lifeboat plan check {path}
name = "tracking"
primary_region = "{PRIMARY}"
recovery_region = "{RECOVERY}"
state_bucket = "{bucket}"

[[copy.rds]]
db_cluster = "phoenix-aurora"
retain_days = 7
keep_at_least = 3

[[copy.rds]]
tag = {{ key = "dr", value = "true" }}
kms_key = "{recovery_key}"
snapshots = "all"
retain_days = 7
keep_at_least = 3

[[copy.backup]]
source_vault = "Default"
destination_vault = "{dr_vault}"
iam_role = "{role}"
resource_types = ["EC2", "EBS"]
delete_after_days = 14
"#,
        path = plan_path.display(),
        bucket = world.state_bucket(),
        role = backup_role(DEMO_ACCOUNT),
    );
    std::fs::write(&plan_path, plan).expect("write the plan");
    println!("plan      {}\n", plan_path.display());

    let plan_arg = plan_path.display().to_string();
    let mut failed = false;
    for (task, round) in [
        (
            "snapshots",
            "first run: copies what the recovery Region lacks",
        ),
        (
            "snapshots",
            "second run: the same plan again changes nothing",
        ),
        (
            "backups",
            "AWS Backup: copy jobs for every recovery point the dr vault lacks",
        ),
        (
            "backups",
            "AWS Backup, again: every recovery point is copied",
        ),
    ] {
        println!("── {round}");
        println!("$ lifeboat copy {task} --plan {plan_arg}");
        let status =
            lifeboat_cli::main(["lifeboat", "copy", task, "--plan", &plan_arg].map(Into::into))
                .await;
        failed |= status != ExitCode::SUCCESS;
        println!();
    }
    let status = if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };

    let copies = world.recovery_snapshots().await;
    println!("── {RECOVERY} now holds {} Lifeboat copies:", copies.len());
    for copy in &copies {
        let encryption = match (&copy.kms_key, copy.encrypted) {
            (Some(key), true) => format!("encrypted with {key}"),
            _ => "unencrypted".to_owned(),
        };
        println!("   {:<55} {}", copy.id, encryption);
    }
    // The human-readable record of the first run, as an operator would open it.
    let listing = world
        .s3
        .list_objects_v2()
        .bucket(world.state_bucket())
        .prefix("runs/tracking/copy-snapshots/")
        .send()
        .await
        .expect("list the run records");
    let mut reports: Vec<&str> = listing
        .contents()
        .iter()
        .filter_map(|o| o.key())
        .filter(|k| k.ends_with(".md"))
        .collect();
    reports.sort();
    if let Some(key) = reports.first()
        && let Some(markdown) = world.state_object(key).await
    {
        println!(
            "\n── a run's report, as stored at s3://{}/{key}:\n\n{markdown}",
            world.state_bucket()
        );
    }
    status
}
