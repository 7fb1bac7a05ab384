"""`OptionGroupName` on DB snapshots.

The RDS API reference, `DBSnapshot.OptionGroupName`: "Provides the option group name for the DB
snapshot." A snapshot keeps the option group its DB instance had when the snapshot was taken;
moto 5.2.5 leaves the field out of `DescribeDBSnapshots`, so a copy task could not tell a SQL
Server snapshot with a TDE option group (which a cross-Region copy must give an option group of
the destination Region) from one with the default group.
"""

from moto.rds.models import DBSnapshot


def _option_group_name(snapshot: DBSnapshot) -> str | None:
    # moto keeps a copy of the DB instance as it was when the snapshot was taken.
    return getattr(snapshot.database, "option_group_name", None)


def install() -> None:
    if not isinstance(getattr(DBSnapshot, "option_group_name", None), property):
        DBSnapshot.option_group_name = property(_option_group_name)
