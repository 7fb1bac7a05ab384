//! The DR drill, Lifeboat's whole job against a local AWS emulator, from nothing:
//! `cargo run -p lifeboat-tests --bin drill`.
//!
//! It installs the pinned emulator (moto, with Lifeboat's extensions) into `.venv` if needed,
//! starts it, seeds a primary Region (us-west-2) like the brief's customers and what Lifeboat's
//! stack makes in the recovery Region (us-east-2), writes the plan to `.lifeboat-drill/plan.toml`,
//! and runs the drill (`lifeboat_tests::drill`) with the code the Lambdas run: copy snapshots and
//! recovery points → verify a restore → the alarms fire → failover → failback, each step printed
//! as it goes, then the summary table and the reports' paths. Exit 0 when every step did what it
//! should.
//!
//! With `--serve` the emulator stays up afterwards (until Enter or end of input), to try the CLI
//! or the Lambdas by hand against the same world.

use std::process::ExitCode;
use std::time::Instant;

use lifeboat_tests::world::{PRIMARY, RECOVERY, World};
use lifeboat_tests::{Emulator, drill};

/// moto's default account: every request with unknown credentials acts in it.
const DRILL_ACCOUNT: &str = "123456789012";

fn main() -> ExitCode {
    println!(
        "Lifeboat DR drill: copy, verify, fail over and fail back, against a local AWS emulator\n"
    );
    let started = Instant::now();
    let emulator = Emulator::start();
    // The CLI reads its AWS settings from the environment, like it would in a shell. Set them
    // before any thread starts.
    // SAFETY: single-threaded here; the async runtime is built below.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL", emulator.endpoint());
        std::env::set_var("AWS_ACCESS_KEY_ID", "drill");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "drill");
        std::env::set_var("AWS_REGION", RECOVERY);
        std::env::remove_var("AWS_PROFILE");
        std::env::remove_var("AWS_SESSION_TOKEN");
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let (status, _data) = runtime.block_on(run(&emulator, started));
    if std::env::args().any(|a| a == "--serve") {
        serve(&emulator);
    }
    status
}

async fn run(emulator: &Emulator, started: Instant) -> (ExitCode, drill::Seeded) {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let world = World::new(lifeboat_tests::Account {
        id: DRILL_ACCOUNT.into(),
        access_key_id: "drill".into(),
        config,
    });
    println!(
        "emulator  {} (moto, account {DRILL_ACCOUNT})",
        emulator.endpoint()
    );
    let seeded = drill::seed(&world, "lbd").await;
    println!(
        "seeded    {PRIMARY}: Aurora MySQL phoenix-aurora (replica cluster phoenix-dr in {RECOVERY}),\n          \
         SQL Server shop, PostgreSQL orders (read replica orders-dr in {RECOVERY}; its data on the\n          \
         machine's PostgreSQL, database {}), snapshots of each; EC2 and EBS recovery points in AWS\n          \
         Backup's Default vault; Route 53 {} → {}\n          \
         {RECOVERY}: Lifeboat's state bucket and bus, backup vault dr, alarms {} and {}",
        seeded.data.name,
        drill::RECORD,
        drill::PRIMARY_ALB,
        drill::ALARMS[0],
        drill::ALARMS[1]
    );
    let dir = lifeboat_tests::venv::workspace_root().join(".lifeboat-drill");
    std::fs::create_dir_all(&dir).expect("create .lifeboat-drill");
    let plan_path = dir.join("plan.toml");
    let text = toml::to_string(&seeded.plan).expect("the plan as TOML");
    std::fs::write(&plan_path, format!("# Written by the drill.\n{text}")).expect("write the plan");
    println!("plan      {}", plan_path.display());

    let lifeboat = world.lifeboat(seeded.plan.clone());
    let mut summary = drill::run(&lifeboat, &world, &seeded).await;
    summary.save_reports(&world, &dir.join("reports")).await;
    println!(
        "\n── summary ({:.0} s in all)\n",
        started.elapsed().as_secs_f64()
    );
    print!("{}", summary.table());
    let status = if summary.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    };
    (status, seeded)
}

/// Keeps the seeded emulator up and says how to use it from another shell.
fn serve(emulator: &Emulator) {
    let plan = lifeboat_tests::venv::workspace_root().join(".lifeboat-drill/plan.toml");
    let plan = plan.display();
    let endpoint = emulator.endpoint();
    println!(
        "\n── the emulator stays up; in another shell:\n\n\
         export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=drill AWS_SECRET_ACCESS_KEY=drill AWS_REGION={RECOVERY}\n\
         cargo run -p lifeboat-cli -- status --plan {plan}\n\
         cargo run -p lifeboat-cli -- failover --plan {plan} --dry-run\n\n\
         # a Lambda, with cargo-lambda (docs/deploy.md):\n\
         cargo lambda watch -A 127.0.0.1 -P 9000 --env-var LIFEBOAT_PLAN={plan}\n\
         cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port 9000 failover --data-file events/runbook-dry-run.json\n\n\
         Press Enter to stop the emulator."
    );
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}
