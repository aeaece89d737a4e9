use crate::api::{
    admin::{
        admin_sessions, sync_status, BackfillRepo, DisableAccount, DiscardDeadLetter, ImportNetwork, Reconcile,
        RefreshSessions, ReplayDeadLetter, ResetSession, RetryImport,
    },
    events::ResolveConflict,
    views::{
        ChartView, Charts, ConsumerView, Count, DeadLetterView, ImportView, ReconcileView, SessionView, SyncReport,
    },
    ApiError,
};
use crate::app::components::{
    error_page::{failure, ErrorPage},
    sync_badge::ago,
};
use crate::app::resource;
use crate::domain::SyncStatus;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};

/// `/admin`: how the cache stands against the network, for admins only.
#[component]
pub fn AdminPage() -> impl IntoView {
    let reconcile = ServerAction::<Reconcile>::new();
    let replay = ServerAction::<ReplayDeadLetter>::new();
    let discard = ServerAction::<DiscardDeadLetter>::new();
    let resolve = ServerAction::<ResolveConflict>::new();
    let import = ServerAction::<ImportNetwork>::new();
    let retry = ServerAction::<RetryImport>::new();
    let report = resource::blocking(
        move || {
            [
                import.version().get(),
                retry.version().get(),
                reconcile.version().get(),
                replay.version().get(),
                discard.version().get(),
                resolve.version().get(),
            ]
        },
        |_| sync_status(),
    );
    // Asked for here, before anything waits, not in `Sessions` (made once the report arrived):
    // see `MePage` on why a resource is made before the page's first wait.
    let sessions = SessionsData::new();
    view! {
        <Title text="Admin" />
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading the sync report…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <ErrorPage errors /> }>
                {move || Suspend::new(async move {
                    let report = report.await?;
                    Ok::<_, ApiError>(view! { <Dashboard report reconcile replay discard resolve import retry /> <Sessions data=sessions /> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn Dashboard(
    report: SyncReport,
    reconcile: ServerAction<Reconcile>,
    replay: ServerAction<ReplayDeadLetter>,
    discard: ServerAction<DiscardDeadLetter>,
    resolve: ServerAction<ResolveConflict>,
    import: ServerAction<ImportNetwork>,
    retry: ServerAction<RetryImport>,
) -> impl IntoView {
    let SyncReport {
        events,
        events_total,
        in_sync_percent,
        rsvps,
        pending_writes,
        consumer,
        dead_letters,
        dead_letters_total,
        conflicts,
        reconciliations,
        reconciling,
        reconcile_progress,
        import: imported,
        charts,
        now,
    } = report;
    let importing = imported.as_ref().is_some_and(|i| i.running);
    let pending_total: i64 = pending_writes.iter().map(|c| c.count).sum();
    // While ingestion fails, the share in sync describes a cache that is falling behind.
    let in_sync = match consumer.as_ref().is_some_and(|c| c.stuck) {
        true => format!("{in_sync_percent}% (not current: ingestion is stuck)"),
        false => format!("{in_sync_percent}%"),
    };
    view! {
        // While a reconciliation runs, the page reloads itself (with or without JavaScript).
        {(reconciling || importing).then(|| view! { <Meta http_equiv="refresh" content="2" /> })}
        <h1 class="text-2xl font-bold">"Admin"</h1>
        <section aria-labelledby="sync" class="mt-6 grid gap-4 sm:grid-cols-3" data-testid="sync-report">
            <h2 id="sync" class="sr-only">"Sync status"</h2>
            <Stat label="Events" value=events_total.to_string() testid="events-total" />
            <Stat label="In sync" value=in_sync testid="in-sync-percent" />
            <Stat label="RSVPs" value=rsvps.to_string() testid="rsvps-total" />
        </section>
        <div class="mt-4 grid gap-6 sm:grid-cols-2">
            <Counts
                title="Events by sync status"
                counts=events.iter().map(|c| (c.name.as_str(), c.name.label(), c.count)).collect()
                testid="events-by-status"
            />
            <Counts
                title="Pending writes"
                counts=pending_writes.iter().map(|c| (c.name.as_str(), c.name.label(), c.count)).collect()
                testid="pending-writes"
            />
        </div>
        <SyncChart counts=events total=events_total />
        <TimeCharts charts />
        <Consumer consumer now />
        <Reconciliations reports=reconciliations reconciling progress=reconcile_progress reconcile now />
        {imported.map(|imported| view! { <NetworkImport imported import retry now /> })}
        <DeadLetters letters=dead_letters total=dead_letters_total replay discard now />
        <section aria-labelledby="conflicts" class="mt-6 rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
            <h2 id="conflicts" class="font-semibold">"Conflicts"</h2>
            <p class="mt-1 text-sm text-slate-600">
                "Writes a PDS refused because the record changed there first. An admin can keep Bluesky's version; only the organiser can re-apply theirs, on the event's page."
            </p>
            {conflicts.is_empty().then(|| view! { <p class="mt-2 text-sm text-slate-500">"None."</p> })}
            <ul class="mt-2 space-y-2 text-sm" data-testid="conflicts">
                {conflicts.into_iter().map(|c| {
                    let open_event = c.event_id.filter(|_| c.decision.is_none());
                    view! {
                        <li class="flex flex-wrap items-center gap-2">
                            <span>
                                {ago(now, c.created_at)} " · " {c.decision.map_or("open", |d| d.label())}
                                " · ours: " {c.ours.unwrap_or_else(|| "(deleted)".to_owned())}
                                " · theirs: " {c.theirs.unwrap_or_else(|| "(gone)".to_owned())}
                            </span>
                            {c.event_id.map(|id| view! { <a href=format!("/events/{id}") class="underline">"event"</a> })}
                            {open_event.map(|id| view! {
                                <ActionForm action=resolve>
                                    <input type="hidden" name="id" value=id />
                                    <input type="hidden" name="resolution" value="keep_bluesky" />
                                    <button type="submit" class="rounded-md border border-slate-300 bg-white px-3 py-1 font-medium hover:bg-slate-100">
                                        "Keep Bluesky's"
                                    </button>
                                </ActionForm>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {move || resolve.value().get().and_then(Result::err).map(|e| view! {
                <p role="alert" class="mt-2 text-sm text-rose-700">{e.message}</p>
            })}
        </section>
        <p class="mt-8 text-xs text-slate-500">
            {format!("{pending_total} pending writes in all. ")}
            "Metrics for Prometheus: " <a href="/metrics" class="underline">"/metrics"</a>
        </p>
    }
}

#[component]
fn Stat(label: &'static str, value: String, testid: &'static str) -> impl IntoView {
    view! {
        <div class="rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
            <p class="text-sm text-slate-600">{label}</p>
            <p class="text-3xl font-bold" data-testid=testid>{value}</p>
        </div>
    }
}

#[component]
fn Counts(
    title: &'static str,
    /// Each kind's stable name, its label and how many there are.
    counts: Vec<(&'static str, &'static str, i64)>,
    testid: &'static str,
) -> impl IntoView {
    let empty = counts.is_empty();
    view! {
        <div class="rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
            <h2 class="font-semibold">{title}</h2>
            {empty.then(|| view! { <p class="mt-2 text-sm text-slate-500">"None."</p> })}
            <dl class="mt-2 space-y-1 text-sm" data-testid=testid>
                {counts.into_iter().map(|(name, label, count)| view! {
                    <div class="flex justify-between" data-name=name>
                        <dt>{label}</dt>
                        <dd class="font-mono">{count}</dd>
                    </div>
                }).collect_view()}
            </dl>
        </div>
    }
}

/// One horizontal bar split by sync status, drawn on the server as SVG (works without JavaScript).
#[component]
fn SyncChart(counts: Vec<Count<SyncStatus>>, total: i64) -> impl IntoView {
    if total == 0 {
        return ().into_any();
    }
    let colour = |status: SyncStatus| match status {
        SyncStatus::InSync => "#10b981",
        SyncStatus::Pending => "#f59e0b",
        SyncStatus::Conflict => "#f97316",
        SyncStatus::Failed => "#e11d48",
        SyncStatus::Local => "#94a3b8",
    };
    let mut x = 0.0;
    let bars = counts
        .into_iter()
        .map(|c| {
            let width = 100.0 * c.count as f64 / total as f64;
            let bar = view! {
                <rect x=format!("{x:.2}") y="0" width=format!("{width:.2}") height="10" fill=colour(c.name)>
                    <title>{format!("{}: {}", c.name.label(), c.count)}</title>
                </rect>
            };
            x += width;
            bar
        })
        .collect_view();
    view! {
        <figure class="mt-6 rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
            <figcaption class="mb-2 text-sm font-semibold">"Events by sync status"</figcaption>
            <svg viewBox="0 0 100 10" preserveAspectRatio="none" class="h-6 w-full rounded" role="img"
                aria-label="Events by sync status" data-testid="sync-chart">
                {bars}
            </svg>
        </figure>
    }
    .into_any()
}

/// The charts over time, drawn on the server as SVG (work without JavaScript).
#[component]
fn TimeCharts(charts: Charts) -> impl IntoView {
    let Charts {
        start,
        end,
        sample_seconds,
        charts,
    } = charts;
    let from = ago(end, start);
    let about = match sample_seconds {
        Some(seconds) => format!("Sampled every {seconds} s on each instance; from {from} until now."),
        None => "Sampling is off on this instance (METRICS_SAMPLE_SECONDS=0).".to_owned(),
    };
    view! {
        <section aria-labelledby="charts" class="mt-6 rounded-xl border border-slate-200 bg-white p-4 shadow-sm" data-testid="charts">
            <h2 id="charts" class="font-semibold">"Over time"</h2>
            <p class="mt-1 text-sm text-slate-600">{about}</p>
            <div class="mt-3 grid gap-4 sm:grid-cols-2">
                {charts.into_iter().map(|chart| view! { <LineChart chart from=from.clone() /> }).collect_view()}
            </div>
        </section>
    }
}

/// A number as a chart shows it: fewer decimals the larger it is.
fn value(v: f64) -> String {
    match v.abs() {
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    }
}

/// One series as a line; gaps (buckets without data) break it.
#[component]
fn LineChart(chart: ChartView, from: String) -> impl IntoView {
    const WIDTH: f64 = 300.0;
    const HEIGHT: f64 = 80.0;
    let ChartView { title, unit, points } = chart;
    let largest = points.iter().flatten().copied().fold(0.0_f64, f64::max);
    let top = if unit == "%" {
        100.0
    } else if largest > 0.0 {
        largest * 1.1
    } else {
        1.0
    };
    let last = points.len().saturating_sub(1).max(1) as f64;
    // A margin above and below, so a line at the top or the bottom of the scale stays whole.
    const MARGIN: f64 = 3.0;
    let at = |i: usize, v: f64| {
        let y = HEIGHT - MARGIN - (v / top).clamp(0.0, 1.0) * (HEIGHT - 2.0 * MARGIN);
        (i as f64 * WIDTH / last, y)
    };
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut open = false;
    for (i, point) in points.iter().enumerate() {
        match (point, open) {
            (Some(v), true) => runs.last_mut().into_iter().for_each(|run| run.push(at(i, *v))),
            (Some(v), false) => runs.push(vec![at(i, *v)]),
            (None, _) => {}
        }
        open = point.is_some();
    }
    let shown = points.iter().flatten().count();
    let latest = points
        .iter()
        .rev()
        .find_map(|p| *p)
        .map(|v| format!("{} {unit}", value(v)))
        .unwrap_or_else(|| "no data yet".to_owned());
    let lines = runs
        .into_iter()
        .map(|run| match run.as_slice() {
            [(x, y)] => view! { <circle cx=format!("{x:.1}") cy=format!("{y:.1}") r="2" fill="#0284c7" /> }.into_any(),
            _ => {
                let path = run
                    .iter()
                    .map(|(x, y)| format!("{x:.1},{y:.1}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                view! { <polyline points=path fill="none" stroke="#0284c7" stroke-width="1.5" /> }.into_any()
            }
        })
        .collect_view();
    view! {
        <figure class="rounded-lg border border-slate-200 p-3" data-testid="chart" data-title=title.clone() data-points=shown>
            <figcaption class="flex justify-between text-sm">
                <span class="font-medium">{title.clone()}</span>
                <span class="font-mono text-slate-700" data-testid="chart-latest">{latest}</span>
            </figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none" class="mt-2 h-20 w-full overflow-visible"
                role="img" aria-label=format!("{title} over time")>
                <line x1="0" y1={HEIGHT - MARGIN} x2=WIDTH y2={HEIGHT - MARGIN} stroke="#cbd5e1" stroke-width="1" />
                {lines}
            </svg>
            <div class="flex justify-between text-xs text-slate-500">
                <span>{from}</span>
                <span>{format!("scale: 0–{} {unit}", value(top))}</span>
                <span>"now"</span>
            </div>
        </figure>
    }
}

#[component]
fn Consumer(consumer: Option<ConsumerView>, now: DateTime<Utc>) -> impl IntoView {
    let body = match consumer {
        None => {
            view! { <p class="mt-2 text-sm text-slate-600">"No firehose consumer here (FIREHOSE_URL is off, or not set on this setup)."</p> }
                .into_any()
        }
        Some(c) => {
            let moved = c
                .cursor_moved_at
                .map(|at| ago(now, at))
                .unwrap_or_else(|| "never".to_owned());
            let stuck = c.stuck.then(|| view! {
                <p role="alert" data-testid="consumer-stuck" class="mt-2 rounded bg-rose-50 p-2 text-sm text-rose-800">
                    "Ingestion is stuck: frames keep failing to apply, the cursor does not move and the cache is falling behind (the share in sync is not current). "
                    {c.last_error.clone().map(|error| format!("Last error: {error}"))}
                </p>
            });
            let unreachable = (!c.connected).then_some(c.connection_error.clone()).flatten().map(|error| view! {
                <p role="status" data-testid="consumer-unreachable" class="mt-2 rounded bg-amber-50 p-2 text-sm text-amber-900">
                    "Not connected: " {error} ". The consumer keeps trying, waiting longer each time (up to a minute); "
                    "it resumes from its cursor once it connects. FIREHOSE_URL=off turns it off."
                </p>
            });
            view! {
                {stuck}
                {unreachable}
                <dl class="mt-2 grid grid-cols-2 gap-x-4 gap-y-1 text-sm" data-testid="consumer">
                    <dt>"Endpoint"</dt><dd class="break-all font-mono text-xs">{c.endpoint}</dd>
                    <dt>"Connected"</dt><dd data-testid="consumer-connected">{if c.connected { "yes" } else { "no" }}</dd>
                    <dt>"Cursor"</dt><dd class="font-mono" data-testid="consumer-cursor">{c.cursor.map(|s| s.to_string()).unwrap_or_else(|| "none".to_owned())}</dd>
                    <dt>"Cursor moved"</dt><dd>{moved}</dd>
                    <dt>"Sequence gaps repaired"</dt><dd>{c.gaps}</dd>
                    <dt>"Lag"</dt><dd data-testid="consumer-lag">{c.lag_seconds.map(|lag| format!("{} s", value(lag))).unwrap_or_else(|| "no commit yet".to_owned())}</dd>
                    <dt>"Reconnects"</dt><dd>{c.reconnects}</dd>
                    <dt>"Lock losses"</dt><dd>{c.lock_losses}</dd>
                </dl>
            }
            .into_any()
        }
    };
    view! {
        <section aria-labelledby="consumer" class="mt-6 rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
            <h2 id="consumer" class="font-semibold">"Firehose consumer"</h2>
            {body}
        </section>
    }
}

#[component]
fn Reconciliations(
    reports: Vec<ReconcileView>,
    reconciling: bool,
    progress: Option<(u64, u64)>,
    reconcile: ServerAction<Reconcile>,
    now: DateTime<Utc>,
) -> impl IntoView {
    let outcome = move || {
        reconcile.value().get().map(|result| match result {
            Ok(id) => view! {
                <p role="status" class="mt-2 text-sm text-emerald-800">
                    <a href=format!("#report-{id}") class="underline" data-testid="started-report">
                        {format!("Run {id} started: its report")}
                    </a>
                </p>
            }
            .into_any(),
            Err(e) => view! { <p role="alert" class="mt-2 text-sm text-rose-700">{e.message}</p> }.into_any(),
        })
    };
    let rows = reports
        .into_iter()
        .map(|r| {
            let took = r
                .finished_at
                .map(|end| format!("{:.1} s", (end - r.started_at).num_milliseconds() as f64 / 1000.0))
                .unwrap_or_else(|| match progress {
                    Some((checked, total)) => format!("running: {checked} of {total} repos"),
                    None => "running…".to_owned(),
                });
            let errors = r.errors.len();
            let detail = r.errors.join("\n");
            view! {
                <tr id=format!("report-{}", r.id) data-testid="reconcile-report" data-finished=r.finished_at.is_some().to_string()>
                    <td class="py-1">{ago(now, r.started_at)}</td>
                    <td>{r.trigger}</td>
                    <td>{r.repos}</td>
                    <td data-testid="report-missing">{r.missing}</td>
                    <td data-testid="report-stale">{r.stale}</td>
                    <td data-testid="report-deleted">{r.deleted}</td>
                    <td>{r.unpublished}</td>
                    <td title=detail>{errors}</td>
                    <td>{took}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="reconcile" class="mt-6 rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
            <div class="flex items-center justify-between">
                <h2 id="reconcile" class="font-semibold">"Reconciliation"</h2>
                <ActionForm action=reconcile>
                    <button type="submit" disabled=reconciling
                        class="rounded-md bg-sky-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-700 disabled:opacity-50">
                        {if reconciling { "Reconciling…" } else { "Reconcile now" }}
                    </button>
                </ActionForm>
            </div>
            <p class="mt-1 text-sm text-slate-600">
                "Compares every known repo with Skymeet's copy and repairs what differs: the PDS wins."
            </p>
            {outcome}
            <Backfill />
            <table class="mt-3 w-full text-left text-sm">
                <thead class="text-slate-500">
                    <tr><th>"Started"</th><th>"Why"</th><th>"Repos"</th><th>"Missing"</th><th>"Stale"</th>
                        <th>"Deleted"</th><th>"Unpublished"</th><th>"Errors"</th><th>"Took"</th></tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}

/// The import of what the network holds: a relay lists the repos, each is read through its PDS.
#[component]
fn NetworkImport(
    imported: ImportView,
    import: ServerAction<ImportNetwork>,
    retry: ServerAction<RetryImport>,
    now: DateTime<Utc>,
) -> impl IntoView {
    let errors = move || {
        let import = import.value().get().and_then(Result::err);
        let retry = retry.value().get().and_then(Result::err);
        [import, retry]
            .into_iter()
            .flatten()
            .map(|error| view! { <p role="alert" class="mt-2 text-sm text-rose-700">{error.message}</p> })
            .collect_view()
    };
    let percent = imported.percent();
    let state = match (&imported.started_at, imported.running, imported.finished_at) {
        (None, _, _) => "Not imported yet.".to_owned(),
        (Some(_), true, _) if imported.listing => "Listing the repos that hold calendar records…".to_owned(),
        (Some(_), true, _) => "Reading the repos through their PDSes…".to_owned(),
        (Some(_), false, Some(finished)) => format!("Done {}.", ago(now, finished)),
        (Some(_), false, None) => "Stopped before the end: it resumes on the next start, or now.".to_owned(),
    };
    let failures = imported
        .failures
        .into_iter()
        .map(|(did, error)| {
            view! {
                <li data-testid="import-failure">
                    <code>{did}</code> ": " {error.unwrap_or_default()}
                </li>
            }
        })
        .collect_view();
    let running = imported.running;
    let failed = imported.failed;
    view! {
        <section aria-labelledby="import" class="mt-6 rounded-xl border border-slate-200 bg-white p-4 shadow-sm" data-testid="network-import">
            <div class="flex items-center justify-between gap-2">
                <h2 id="import" class="font-semibold">"Import from the network"</h2>
                <div class="flex gap-2">
                    {(failed > 0).then(|| view! {
                        <ActionForm action=retry>
                            <button type="submit" class="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-100">
                                "Retry failed repos"
                            </button>
                        </ActionForm>
                    })}
                    <ActionForm action=import>
                        <button type="submit" disabled=running
                            class="rounded-md bg-sky-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-700 disabled:opacity-50">
                            {if running { "Importing…" } else { "Import now" }}
                        </button>
                    </ActionForm>
                </div>
            </div>
            <p class="mt-1 text-sm text-slate-600">
                "Every repo the relay " <code>{imported.relay}</code> " lists as holding calendar records, read through its own PDS."
            </p>
            {errors}
            <p class="mt-2 text-sm" data-testid="import-state">{state}</p>
            <progress class="mt-2 w-full" max="100" value=percent.to_string() data-testid="import-progress">
                {format!("{percent}%")}
            </progress>
            <dl class="mt-2 grid grid-cols-2 gap-2 text-sm sm:grid-cols-4">
                <div><dt class="text-slate-500">"Repos found"</dt><dd data-testid="import-found">{imported.found}</dd></div>
                <div><dt class="text-slate-500">"Read"</dt><dd data-testid="import-done">{imported.done}</dd></div>
                <div><dt class="text-slate-500">"Failed"</dt><dd data-testid="import-failed">{failed}</dd></div>
                <div><dt class="text-slate-500">"Records imported"</dt><dd data-testid="import-records">{imported.records}</dd></div>
            </dl>
            <ul class="mt-2 space-y-1 text-sm text-rose-800">{failures}</ul>
        </section>
    }
}

#[component]
fn DeadLetters(
    letters: Vec<DeadLetterView>,
    total: i64,
    replay: ServerAction<ReplayDeadLetter>,
    discard: ServerAction<DiscardDeadLetter>,
    now: DateTime<Utc>,
) -> impl IntoView {
    let errors = move || {
        [replay.value().get(), discard.value().get()]
            .into_iter()
            .flatten()
            .filter_map(Result::err)
            .map(|error| view! { <p role="alert" class="mt-2 text-sm text-rose-700">{error.message}</p> })
            .collect_view()
    };
    let items = letters
        .into_iter()
        .map(|letter| {
            view! {
                <li class="rounded-lg border border-rose-200 bg-rose-50 p-3 text-sm" data-testid="dead-letter">
                    <p class="font-medium text-rose-900">{letter.error}</p>
                    <p class="text-xs text-slate-600">
                        {ago(now, letter.created_at)}
                        {letter.seq.map(|seq| format!(" · seq {seq}"))}
                        {letter.raw_bytes.map(|n| format!(" · an undecodable frame of {n} bytes"))}
                    </p>
                    {letter.uri.map(|uri| view! { <p class="break-all font-mono text-xs">{uri}</p> })}
                    {letter.record.map(|record| view! {
                        <pre class="mt-2 max-h-40 overflow-auto rounded bg-white p-2 text-xs">{record}</pre>
                    })}
                    <div class="mt-2 flex gap-2">
                        <ActionForm action=replay>
                            <input type="hidden" name="id" value=letter.id />
                            <button type="submit" class="rounded-md border border-slate-300 bg-white px-3 py-1 font-medium hover:bg-slate-100">
                                "Replay"
                            </button>
                        </ActionForm>
                        <ActionForm action=discard>
                            <input type="hidden" name="id" value=letter.id />
                            <button type="submit" class="rounded-md border border-slate-300 bg-white px-3 py-1 font-medium hover:bg-slate-100">
                                "Discard"
                            </button>
                        </ActionForm>
                    </div>
                </li>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="dead-letters" class="mt-6 rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
            <h2 id="dead-letters" class="font-semibold">"Dead letters " <span data-testid="dead-letters-total">{total}</span></h2>
            <p class="mt-1 text-sm text-slate-600">
                "Frames and records the consumer could not apply. Replay reads the record again from its PDS once the cause is fixed."
            </p>
            {errors}
            <ul class="mt-3 space-y-3">{items}</ul>
        </section>
    }
}

/// Backfills one repo by DID or handle, and says what it repaired.
#[component]
fn Backfill() -> impl IntoView {
    let backfill = ServerAction::<BackfillRepo>::new();
    let outcome = move || {
        backfill.value().get().map(|result| match result {
            Ok(done) => view! {
                <p role="status" class="mt-2 text-sm text-emerald-800" data-testid="backfill-done">
                    {format!(
                        "Backfilled {}: {} missing, {} stale, {} deleted.",
                        done.did, done.missing, done.stale, done.deleted
                    )}
                </p>
            }
            .into_any(),
            Err(error) => view! { <p role="alert" class="mt-2 text-sm text-rose-700">{error.message}</p> }.into_any(),
        })
    };
    view! {
        <ActionForm action=backfill attr:class="mt-3 flex flex-wrap items-end gap-2">
            <label class="text-sm">
                <span class="block text-slate-600">"Backfill one account (DID or handle)"</span>
                <input type="text" name="identifier" required class="mt-1 w-72 rounded-md border border-slate-300 px-2 py-1" />
            </label>
            <button type="submit" class="rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-100">
                "Backfill"
            </button>
        </ActionForm>
        {outcome}
    }
}

/// Who is connected, with a per-person reset and a batch refresh.
/// [`Sessions`]'s actions and data (see `AdminPage`).
#[derive(Clone, Copy)]
struct SessionsData {
    refresh: ServerAction<RefreshSessions>,
    reset: ServerAction<ResetSession>,
    disable: ServerAction<DisableAccount>,
    sessions: resource::Resource<Result<Vec<SessionView>, ApiError>>,
}

impl SessionsData {
    fn new() -> Self {
        let refresh = ServerAction::<RefreshSessions>::new();
        let reset = ServerAction::<ResetSession>::new();
        let disable = ServerAction::<DisableAccount>::new();
        let sessions = resource::blocking(
            move || (refresh.version().get(), reset.version().get(), disable.version().get()),
            |_| admin_sessions(),
        );
        Self {
            refresh,
            reset,
            disable,
            sessions,
        }
    }
}

#[component]
fn Sessions(data: SessionsData) -> impl IntoView {
    let SessionsData {
        refresh,
        reset,
        disable,
        sessions,
    } = data;
    let outcome = move || {
        refresh.value().get().map(|result| match result {
            Ok(done) => view! {
                <p role="status" class="mt-2 text-sm text-emerald-800" data-testid="refresh-done">
                    {format!("Refreshed {} sessions.", done.refreshed)}
                    {(!done.failed.is_empty()).then(|| format!(" Not refreshed: {}.", done.failed.join("; ")))}
                </p>
            }
            .into_any(),
            Err(error) => view! { <p role="alert" class="mt-2 text-sm text-rose-700">{error.message}</p> }.into_any(),
        })
    };
    view! {
        <section aria-labelledby="sessions" class="mt-6 rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
            <div class="flex items-center justify-between">
                <h2 id="sessions" class="font-semibold">"Sessions"</h2>
                <ActionForm action=refresh>
                    <button type="submit" disabled=move || refresh.pending().get()
                        class="rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-100 disabled:opacity-50">
                        {move || if refresh.pending().get() { "Refreshing…" } else { "Refresh all sessions" }}
                    </button>
                </ActionForm>
            </div>
            {outcome}
            {move || failure(disable.value().get())}
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading sessions…"</p> }>
                {move || Suspend::new(async move {
                    let sessions = sessions.await?;
                    Ok::<_, ApiError>(view! { <SessionList sessions reset disable /> })
                })}
            </Transition>
        </section>
    }
}

#[component]
fn SessionList(
    sessions: Vec<SessionView>,
    reset: ServerAction<ResetSession>,
    disable: ServerAction<DisableAccount>,
) -> impl IntoView {
    let rows = sessions
        .into_iter()
        .map(|s| {
            let expires = s
                .expires_in_seconds
                .map(|secs| format!("in {} h {} min", secs / 3600, secs % 3600 / 60))
                .unwrap_or_else(|| "—".to_owned());
            let refreshed = s
                .refreshed_seconds_ago
                .map(|secs| match secs {
                    0..60 => "just now".to_owned(),
                    60..3600 => format!("{} min ago", secs / 60),
                    _ => format!("{} h {} min ago", secs / 3600, secs % 3600 / 60),
                })
                .unwrap_or_else(|| "—".to_owned());
            let access = s
                .access_token_expires_in_seconds
                .map(|seconds| {
                    if seconds <= 0 {
                        "expired; refreshed on next use".to_owned()
                    } else {
                        format!("in {} min", seconds / 60)
                    }
                })
                .unwrap_or_else(|| "—".to_owned());
            let name = s
                .handle
                .map(|h| format!("@{h}"))
                .or_else(|| s.did.clone())
                .or_else(|| s.email.clone())
                .unwrap_or_default();
            let state = match (s.disabled, s.connected, s.did.is_some()) {
                (true, ..) => "disabled",
                (false, true, _) => "connected",
                (false, false, true) => "signed out",
                (false, false, false) => "email account",
            };
            view! {
                <tr data-testid="session" data-connected=s.connected.to_string() data-disabled=s.disabled.to_string()>
                    <td class="py-1">
                        {name}
                        {s.email.clone().filter(|_| s.did.is_some()).map(|email| view! {
                            <span class="block text-xs text-slate-500">{email}</span>
                        })}
                    </td>
                    <td>{state}</td>
                    <td data-testid="refreshed">{refreshed}</td>
                    <td data-testid="access-token">{access}</td>
                    <td>{expires}</td>
                    <td>
                        {s.connected.then(|| view! {
                            <ActionForm action=reset>
                                <input type="hidden" name="user_id" value=s.user_id />
                                <button type="submit" class="text-rose-700 underline">"Reset"</button>
                            </ActionForm>
                        })}
                        <ActionForm action=disable>
                            <input type="hidden" name="user_id" value=s.user_id />
                            <input type="hidden" name="disabled" value=(!s.disabled).to_string() />
                            <button type="submit" class="text-slate-700 underline" data-testid="disable-account">
                                {if s.disabled { "Enable" } else { "Disable" }}
                            </button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="mt-3 w-full text-left text-sm">
            <thead class="text-slate-500"><tr><th>"Who"</th><th>"State"</th><th>"Last refresh"</th><th>"Access token expires"</th><th>"Credentials expire"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
