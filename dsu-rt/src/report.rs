//! What an update did and what the program runs now.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// One version in the chain the program has run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// 0 for the program as started, then one more for every applied patch.
    pub id: u64,
    /// `crate@version` of the build.
    pub label: String,
    /// The sequence number the release declares (`dsu::patch!(sequence = N)`), 0 if none.
    pub sequence: u64,
    /// The patch file given to `update` (empty for the program itself).
    pub path: PathBuf,
    /// When the version was switched in.
    pub applied_at: SystemTime,
}

impl fmt::Display for VersionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {}", self.id, self.label)
    }
}

/// An updateable item named in a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRef {
    /// The item's path in its crate.
    pub path: String,
    /// Its signature.
    pub signature: String,
}

impl fmt::Display for ItemRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.path, self.signature)
    }
}

/// An updateable item an update switches although its own code is the same, because its code
/// calls or names a plain item that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    /// The item.
    pub item: ItemRef,
    /// The plain items from it to the changed one, which is last: each calls or names the next.
    pub through: Vec<String>,
}

impl fmt::Display for Reached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, which reaches {}", self.item, self.through.join(" -> "))
    }
}

/// A changed plain item that code no update switches reaches: that code keeps running the
/// item's old version after the update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreached {
    /// The changed item.
    pub item: String,
    /// The plain items from the code that keeps running to the changed item, which is last:
    /// making one of them updateable (or the first an updateable item's caller) brings the
    /// change in.
    pub chain: Vec<String>,
    /// Why the first of the chain runs without passing through an updateable item: "the
    /// program's binary", "called through `Display` by std or a dependency", "a closure that
    /// may be stored in `..`", "its address is taken in `..`", "exported to foreign code".
    pub root: String,
}

impl fmt::Display for Unreached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}: {})", self.item, self.root, self.chain.join(" -> "))
    }
}

/// A plain `static` or `thread_local!` that code an update switches names: the patch's code
/// has its own copy of it, which starts at its initial value, while the running program's code
/// goes on with the running one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkedState {
    /// The static.
    pub state: String,
    /// A switched item whose code names it.
    pub by: String,
}

impl fmt::Display for ForkedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, named by {}", self.state, self.by)
    }
}

/// What `update` or `rollback` changed.
#[derive(Debug, Clone)]
pub struct UpdateReport {
    /// The version now running; for a check ([`check`](crate::check)), the version the update
    /// would make.
    pub version: VersionInfo,
    /// Whether this is a check's report: nothing was switched.
    pub dry_run: bool,
    /// Items whose code the update switched: every call now runs the patch's code. Those
    /// whose own tokens did not change are in `reached` too.
    pub replaced: Vec<ItemRef>,
    /// The replaced items whose own tokens are the same, switched because their code calls or
    /// names a plain item that changed.
    pub reached: Vec<Reached>,
    /// Changes that code no update switches still reaches, which keep running their old code:
    /// empty unless the update was told to accept them
    /// ([`UpdateOptions::accept_unreached`](crate::UpdateOptions::accept_unreached)).
    pub unreached: Vec<Unreached>,
    /// Plain state the switched code names, whose running value that code does not see:
    /// empty unless the update was told to accept it
    /// ([`UpdateOptions::accept_forked_state`](crate::UpdateOptions::accept_forked_state)).
    pub forked: Vec<ForkedState>,
    /// Whether the update compared the crate graphs of the running version and the patch, so
    /// that `reached`, `unreached` and `forked` are complete; `false` only for an update
    /// accepted without them ([`UpdateError::Unanalysed`](crate::UpdateError::Unanalysed)).
    /// A rollback, which returns to code that ran before, reports `true`.
    pub analysed: bool,
    /// Items that did not exist before. Later patches can replace them.
    pub added: Vec<ItemRef>,
    /// Items of the added whose path existed with another signature: code compiled against
    /// the old signature keeps calling the old item.
    pub signature_changed: Vec<ItemRef>,
    /// Items the patch no longer has: they stay callable by the code that names them.
    pub removed: Vec<ItemRef>,
    /// How many items the patch has with an unchanged body.
    pub unchanged: usize,
    /// Globals the patch adds, with their types: their first use makes their value. (The
    /// globals the program has already keep their live value: the patch's code reaches it.)
    pub added_globals: Vec<ItemRef>,
    /// Globals whose value the update converted to a new type (a rollback: back to the type
    /// before).
    pub converted: Vec<ConvertedGlobal>,
    /// Updateable types whose state cells the update converted to a new type, every live cell
    /// of each (a rollback: back to the type before).
    pub converted_cells: Vec<ConvertedCells>,
    /// How long the commit (every slot switched) took.
    pub pause: Duration,
    /// How long a transaction about to call a changed item (or to use a converted global)
    /// could be held back: from the moment the update closed the gate, through its wait for
    /// open transactions and the conversion of globals, to the end of the commit. The longest
    /// a request could stall because of the update; calls of unchanged items never wait.
    pub held: Duration,
    /// How long the whole call took, from reading the file to the end of the commit.
    pub total: Duration,
    /// How long the update waited, before the commit, for open transactions that had called
    /// an item it changes.
    pub waited: Duration,
    /// Where the transactions it waited for began; for a check, those open now that have
    /// called what the update changes, which an update now would wait for.
    pub waited_for: Vec<String>,
}

crate::fingerprint::dsu_types! {
    UpdateReport, Status, VersionInfo, ItemRef, ItemStatus, GlobalStatus, ConvertedGlobal,
    ConvertedCells, CellStatus, Reached, Unreached, ForkedState,
}

impl UpdateReport {
    /// A report of `version` that changed nothing and took no time, for a switch to fill in.
    pub(crate) fn empty(version: VersionInfo) -> UpdateReport {
        UpdateReport {
            version,
            dry_run: false,
            replaced: Vec::new(),
            reached: Vec::new(),
            unreached: Vec::new(),
            forked: Vec::new(),
            analysed: true,
            added: Vec::new(),
            signature_changed: Vec::new(),
            removed: Vec::new(),
            unchanged: 0,
            added_globals: Vec::new(),
            converted: Vec::new(),
            converted_cells: Vec::new(),
            pause: Duration::ZERO,
            held: Duration::ZERO,
            total: Duration::ZERO,
            waited: Duration::ZERO,
            waited_for: Vec::new(),
        }
    }
}

impl fmt::Display for UpdateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} {}: {} replaced, {} added, {} removed, {} unchanged; pause {:?}, held {:?}, total {:?}",
            if self.dry_run { "would run" } else { "now running" },
            self.version,
            self.replaced.len(),
            self.added.len(),
            self.removed.len(),
            self.unchanged,
            self.pause,
            self.held,
            self.total
        )?;
        if !self.waited_for.is_empty() && self.dry_run {
            writeln!(f, "  would wait for:")?;
            for transaction in &self.waited_for {
                writeln!(f, "    {transaction}")?;
            }
        } else if !self.waited_for.is_empty() {
            writeln!(f, "  waited {:?} for:", self.waited)?;
            for transaction in &self.waited_for {
                writeln!(f, "    {transaction}")?;
            }
        }
        for converted in &self.converted {
            writeln!(f, "  converted         {converted}")?;
        }
        for converted in &self.converted_cells {
            writeln!(f, "  converted cells   {converted}")?;
        }
        for reached in &self.reached {
            writeln!(f, "  switched          {reached}")?;
        }
        for unreached in &self.unreached {
            writeln!(f, "  stays old         {unreached}")?;
        }
        for forked in &self.forked {
            writeln!(f, "  forked state      {forked}")?;
        }
        if !self.analysed {
            writeln!(f, "  not analysed: changes of plain code may not have reached")?;
        }
        for (what, items) in [
            ("replaced", &self.replaced),
            ("added", &self.added),
            ("added global", &self.added_globals),
            ("signature changed", &self.signature_changed),
            ("removed", &self.removed),
        ] {
            for item in items {
                writeln!(f, "  {what:<17} {item}")?;
            }
        }
        Ok(())
    }
}

/// One updateable item and where its running code comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemStatus {
    /// The item.
    pub item: ItemRef,
    /// The version whose code it runs.
    pub version: u64,
}

/// One updateable global and the version that declared it first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalStatus {
    /// The global, with its type.
    pub global: ItemRef,
    /// The version whose declaration made it live: 0 for the program as started.
    pub since: u64,
    /// The last conversion of its value to the type it has now, if an update converted it.
    pub converted: Option<ConvertedGlobal>,
}

/// A global whose value an update converted to a new type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertedGlobal {
    /// The global, with its new type.
    pub global: ItemRef,
    /// Its type before.
    pub from: String,
    /// The version that converted it (for a rollback, the version it went back to).
    pub version: u64,
    /// How many values of the program's types the transformers made: one for each call of a
    /// `#[dsu::transform]` function or a derived transformer (a map of 1,000 entries whose
    /// entry changed counts 1,000).
    pub values: u64,
    /// How long the conversion took, the conversions of other globals its transformers read
    /// included.
    pub took: Duration,
}

impl fmt::Display for ConvertedGlobal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} from {}: {} values in {:?}", self.global, self.from, self.values, self.took)
    }
}

/// The state cells of an updateable type that an update converted to a new type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertedCells {
    /// The type's path.
    pub type_name: String,
    /// The type the cells had before, as the patch names it (`was = ..`); for a rollback, the
    /// type they had.
    pub from: String,
    /// The version that converted them (for a rollback, the version they went back to).
    pub version: u64,
    /// How many cells it converted: every live cell of the type.
    pub cells: usize,
    /// How many values of the program's types the transformers made, as
    /// [`ConvertedGlobal::values`] counts them.
    pub values: u64,
    /// How long the conversion of the cells took.
    pub took: Duration,
}

impl fmt::Display for ConvertedCells {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} from {}: {} cells, {} values in {:?}",
            self.type_name, self.from, self.cells, self.values, self.took
        )
    }
}

/// The live state cells of an updateable type whose values are of one version's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellStatus {
    /// The type's path.
    pub type_name: String,
    /// The version whose type the values have: the one that declared the type, or the last
    /// that converted it.
    pub version: u64,
    /// How many cells there are.
    pub cells: usize,
}

impl fmt::Display for CellStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} cells of {}", self.cells, self.type_name)
    }
}

/// The futures of one updateable `async fn` that one version's code still runs: each started
/// in that version, and finishes in it (see [`status`](crate::status)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuturesStatus {
    /// The item.
    pub item: ItemRef,
    /// The version whose implementation the futures run: a version applied, or one rolled
    /// back since whose futures have not finished yet.
    pub version: u64,
    /// The release that version is, `crate@version`.
    pub release: String,
    /// How many futures of it there are: polled at least once, and neither finished nor
    /// dropped.
    pub running: usize,
}

impl fmt::Display for FuturesStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} futures of {} in {}", self.running, self.item, self.release)
    }
}

/// What the program runs now: see [`status`](crate::status).
#[derive(Debug, Clone)]
pub struct Status {
    /// The versions applied, oldest first; the last one is running.
    pub versions: Vec<VersionInfo>,
    /// Every live updateable item, sorted by path.
    pub items: Vec<ItemStatus>,
    /// Every updateable global, sorted by path.
    pub globals: Vec<GlobalStatus>,
    /// The live state cells, by updateable type (sorted by path) and by the version whose type
    /// their values have. A type without live cells is not listed.
    pub cells: Vec<CellStatus>,
    /// The futures of updateable `async fn`s still running, by item (sorted by path) and by
    /// the version whose code runs them. An item and version without futures is not listed,
    /// so an old version has drained when it has no entry here.
    pub futures: Vec<FuturesStatus>,
}

impl Status {
    /// How many futures of updateable `async fn`s version `version`'s code still runs.
    pub fn futures_in(&self, version: u64) -> usize {
        self.futures.iter().filter(|f| f.version == version).map(|f| f.running).sum()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chain: Vec<String> = self.versions.iter().map(ToString::to_string).collect();
        writeln!(f, "versions: {}", chain.join(" -> "))?;
        for item in &self.items {
            writeln!(f, "  #{:<3} {}", item.version, item.item)?;
        }
        for global in &self.globals {
            write!(f, "  #{:<3} static {}", global.since, global.global)?;
            match &global.converted {
                Some(converted) => {
                    writeln!(f, " (converted by #{} from {})", converted.version, converted.from)?
                }
                None => writeln!(f)?,
            }
        }
        for cells in &self.cells {
            writeln!(f, "  #{:<3} {cells}", cells.version)?;
        }
        for futures in &self.futures {
            writeln!(f, "  #{:<3} {futures}", futures.version)?;
        }
        Ok(())
    }
}
