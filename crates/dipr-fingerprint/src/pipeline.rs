//! Records parsed on one thread and handled on several. The reader fills batches (every cell of a batch
//! in one buffer, so no allocation per cell); workers take whole batches and keep their own partial
//! results. Everything a worker keeps is merged as a set (sketch values, sorted leaves), so the result
//! does not depend on which worker saw which record, nor on how many workers there were.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use crate::reader::Records;
use crate::FingerprintError;

/// Records per batch: large enough that handing a batch over costs nothing per record.
const BATCH: usize = 2048;
/// Progress is reported every this many records.
const PROGRESS_EVERY: u64 = 65_536;

/// Records with their cells in one buffer.
#[derive(Default)]
pub(crate) struct Batch {
    text: String,
    /// End of each cell in `text`.
    cell_ends: Vec<usize>,
    /// Per record: end of its cells in `cell_ends`, and its header set in `names`.
    records: Vec<(usize, usize)>,
    /// Header sets of this batch, with their id (the id changes whenever the headers do).
    names: Vec<(u64, Arc<[String]>)>,
}

impl Batch {
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    fn clear(&mut self) {
        self.text.clear();
        self.cell_ends.clear();
        self.records.clear();
        self.names.clear();
    }

    fn push<'v>(&mut self, names: &(u64, Arc<[String]>), values: impl IntoIterator<Item = &'v str>) {
        if self.names.last().is_none_or(|(id, _)| *id != names.0) {
            self.names.push(names.clone());
        }
        for v in values {
            self.text.push_str(v);
            self.cell_ends.push(self.text.len());
        }
        self.records.push((self.cell_ends.len(), self.names.len() - 1));
    }

    /// Calls `f` with each record's header id, headers and cells, in order.
    pub(crate) fn for_each<'b>(
        &'b self,
        mut f: impl FnMut(u64, &'b [String], &[&'b str]) -> Result<(), FingerprintError>,
    ) -> Result<(), FingerprintError> {
        let mut cells: Vec<&'b str> = Vec::new();
        let (mut cell, mut start) = (0, 0);
        for &(end, names) in &self.records {
            cells.clear();
            for &e in &self.cell_ends[cell..end] {
                cells.push(&self.text[start..e]);
                start = e;
            }
            cell = end;
            let (id, names) = &self.names[names];
            f(*id, names, &cells)?;
        }
        Ok(())
    }
}

/// Reads records into batches, numbering header sets as they change.
pub(crate) struct Reader<R: Read> {
    records: Records<R>,
    names: Option<(u64, Arc<[String]>)>,
}

impl<R: Read> Reader<R> {
    pub(crate) fn new(records: Records<R>) -> Self {
        Self { records, names: None }
    }

    /// Appends up to `max` records to `batch`; false when the input is exhausted.
    pub(crate) fn fill(&mut self, batch: &mut Batch, max: usize) -> Result<bool, FingerprintError> {
        if let Records::Delimited { reader, headers, record } = &mut self.records {
            // One header set for the whole file, and the cells copied straight from the parser's record.
            let names = self.names.get_or_insert_with(|| (0, headers.as_slice().into()));
            while batch.len() < max {
                if !reader.read_record(record).map_err(crate::reader::csv_error)? {
                    return Ok(false);
                }
                batch.push(names, record.iter());
            }
            return Ok(true);
        }
        while batch.len() < max {
            let Some(rec) = self.records.next_record()? else { return Ok(false) };
            let changed = match &self.names {
                Some((_, n)) => !rec.same_names && **n != *rec.names,
                None => true,
            };
            if changed {
                let id = self.names.as_ref().map_or(0, |(id, _)| id + 1);
                self.names = Some((id, rec.names.into()));
            }
            batch.push(self.names.as_ref().expect("set"), rec.values.iter().copied());
        }
        Ok(true)
    }
}

/// Threads to use by default: every core.
pub(crate) fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `work` over `first` and then every record `reader` yields, on `threads` workers each starting
/// from `init()`. Returns the records handled and every worker's state.
pub(crate) fn run<R: Read, S: Send>(
    first: Batch,
    reader: &mut Reader<R>,
    threads: usize,
    progress: &mut dyn FnMut(u64),
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, u64, &[String], &[&str]) -> Result<(), FingerprintError> + Sync,
) -> Result<(u64, Vec<S>), FingerprintError> {
    let mut read = first.len() as u64;
    let report = |progress: &mut dyn FnMut(u64), read: u64, before: u64| {
        if read / PROGRESS_EVERY != before / PROGRESS_EVERY {
            progress(read);
        }
    };
    if threads <= 1 {
        let mut state = init();
        let mut batch = first;
        loop {
            batch.for_each(|id, names, cells| work(&mut state, id, names, cells))?;
            batch.clear();
            let before = read;
            let more = reader.fill(&mut batch, BATCH)?;
            read += batch.len() as u64;
            report(progress, read, before);
            if batch.len() == 0 && !more {
                break;
            }
        }
        progress(read);
        return Ok((read, vec![state]));
    }
    let failed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (to_workers, from_reader) = mpsc::sync_channel::<Batch>(2 * threads);
        // Shared by the workers only: when they have all stopped, the reader's sends fail.
        let from_reader = Arc::new(Mutex::new(from_reader));
        let (spent, recycled) = mpsc::channel::<Batch>();
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (from_reader, spent, failed, init, work) =
                    (from_reader.clone(), spent.clone(), &failed, &init, &work);
                scope.spawn(move || {
                    let mut state = init();
                    loop {
                        let next = from_reader.lock().expect("no worker panics holding the lock").recv();
                        let Ok(mut batch) = next else { break };
                        if let Err(e) = batch.for_each(|id, names, cells| work(&mut state, id, names, cells)) {
                            failed.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                        batch.clear();
                        let _ = spent.send(batch);
                    }
                    Ok(state)
                })
            })
            .collect();
        drop((from_reader, spent));
        let fed = (|| -> Result<(), FingerprintError> {
            if to_workers.send(first).is_err() {
                return Ok(());
            }
            loop {
                if failed.load(Ordering::Relaxed) {
                    return Ok(());
                }
                let mut batch = recycled.try_recv().unwrap_or_default();
                let before = read;
                let more = reader.fill(&mut batch, BATCH)?;
                read += batch.len() as u64;
                report(progress, read, before);
                if batch.len() > 0 && to_workers.send(batch).is_err() || !more {
                    return Ok(());
                }
            }
        })();
        drop(to_workers);
        let states: Vec<Result<S, FingerprintError>> =
            workers.into_iter().map(|w| w.join().expect("a fingerprint worker panicked")).collect();
        fed?;
        progress(read);
        let states = states.into_iter().collect::<Result<Vec<S>, _>>()?;
        Ok((read, states))
    })
}
