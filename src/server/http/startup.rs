//! Builds the application from a [`Config`]: storage, sessions, routes, background tasks. Tests
//! build it on port 0 and talk to it over HTTP, exactly as a browser would.

use super::{
    addresses, assets, callback, event_images, feeds, health, limits, metadata, page_cache, record_json, rest,
    same_origin, scrape, security_headers, series_api,
};
use crate::app::{shell, App, ClientBuilt};
use crate::server::{accounts::Accounts, mail::Mailer};
use crate::server::{
    appview::AppView,
    auth::oauth::{BlueskyAuth, OAuthError, CALLBACK_PATH, CLIENT_METADATA_PATH, JWKS_PATH},
    calendar::Calendar,
    charts::Sampler,
    config::Config,
    error::Chain,
    firehose::{self, Ingest, Repos},
    identity::{self, Identity},
    images::Images,
    kv::{KvStore, MemoryKv},
    metrics,
    network_import::Importer,
    profiles::Profiles,
    reconcile::Reconciler,
    series::Schedule,
    session::{self, SessionBackend},
    state::{AppState, Bluesky},
    store::{Store, StoreError},
};
use axum::serve::ListenerExt;
use axum::{
    extract::{Request, State},
    http::Uri,
    response::Response,
    routing::get,
    Router,
};
use leptos::{config::LeptosOptions, prelude::provide_context};
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use secrecy::ExposeSecret;
use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, LazyLock},
    time::Duration,
};
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower_http::{
    compression::{
        predicate::{DefaultPredicate, Predicate},
        CompressionLayer, CompressionLevel,
    },
    trace::TraceLayer,
};
use tower_sessions_redis_store::fred::{
    self,
    prelude::{ClientLike, Config as RedisConfig, Pool, ReconnectPolicy},
};

/// How often the embedded key-value store frees expired entries.
const KV_PURGE_INTERVAL: Duration = Duration::from_secs(60);
/// How often old dead letters are forgotten, and which: older than a month, or beyond the newest
/// ten thousand.
const DEAD_LETTER_PRUNE_INTERVAL: Duration = Duration::from_secs(600);
const DEAD_LETTERS_KEPT_DAYS: i64 = 30;
const DEAD_LETTERS_KEPT: u32 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("could not open the database")]
    Store(#[from] StoreError),
    #[error("could not connect to Redis (REDIS_URL)")]
    Redis(#[source] fred::error::Error),
    #[error("could not set up Bluesky sign-in")]
    OAuth(#[from] OAuthError),
    #[error("could not set up mail (SMTP_URL)")]
    Mail(#[from] crate::server::mail::MailError),
    #[error("could not listen on {addr}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    /// Keeps the rate limiter's memory bounded; run as a background task.
    forget_quiet_clients: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    state: AppState,
    redis: Option<Pool>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl Application {
    pub async fn build(mut config: Config) -> Result<Self, StartupError> {
        let store = Store::connect(&config.database).await?;
        let filled = store.fill_missing_slugs().await?;
        if filled > 0 {
            tracing::info!(
                filled,
                "events and series stored before readable addresses have one now"
            );
        }
        let findable = crate::server::calendar::discovery::fill_findable(&store).await?;
        if findable > 0 {
            tracing::info!(findable, "events stored before search can be found now");
        }
        let redis = match &config.redis {
            Some(redis) => Some(connect_redis(redis.url.expose_secret()).await?),
            None => None,
        };
        let kv = match (&redis, &config.redis) {
            (Some(pool), Some(settings)) => KvStore::redis(pool.clone(), &settings.key_prefix),
            _ => KvStore::memory(),
        };
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .map_err(|source| StartupError::Bind {
                addr: config.listen_addr.to_string(),
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: config.listen_addr.to_string(),
            source,
        })?;

        // Asked for any free port (tests): the public URL, derived from the address, names the real one.
        if config.public_url.port() == Some(0) {
            let _ = config.public_url.set_port(Some(local_addr.port()));
        }
        let leptos_options = LeptosOptions::builder()
            .output_name("skymeet")
            .site_root(config.site_root.as_str())
            .site_pkg_dir("pkg")
            .site_addr(local_addr)
            .hash_file(Arc::<str>::from(config.hash_file.as_str()))
            .hash_files(assets::names_are_hashed(&config.hash_file))
            .build();
        // Without Redis, sessions live in the same in-process map as the rest, purged together.
        let memory = match &kv {
            KvStore::Memory(memory) => memory.clone(),
            KvStore::Redis(_) => MemoryKv::default(),
        };
        let session_layer = session::layer(&config, SessionBackend::new(redis.as_ref(), memory));
        tracing::info!(
            database = %config.database.describe(),
            kv = kv.backend(),
            address = %local_addr,
            public_url = %config.public_url,
            "starting"
        );
        let http_client = Arc::new(identity::outbound(&config.atproto));
        let bluesky = BlueskyAuth::new(&config, store.clone(), kv.clone(), Arc::clone(&http_client))?.map(|auth| {
            let auth = Arc::new(auth);
            let appview = config
                .atproto
                .appview_url
                .as_ref()
                .map(|url| AppView::new(url, Arc::clone(&http_client)));
            let profiles = Arc::new(Profiles::new(Arc::clone(&auth), appview));
            let identity = Arc::new(Identity::new(&config.atproto, Arc::clone(&http_client)));
            // One reader of repos, shared by the consumer, backfills and reconciliation, so what
            // it remembers of each repo serves them all.
            let repos = Arc::new(Repos::new(store.clone(), Arc::clone(&identity)));
            let consumer = config
                .firehose_url
                .as_ref()
                .map(|url| Arc::new(Ingest::with_repos(store.clone(), Arc::clone(&repos), url.to_string())));
            let calendar = Arc::new(Calendar::new(
                store.clone(),
                Arc::clone(&auth),
                Arc::clone(&identity),
                config.pending_write_backoff,
            ));
            let importer = config.atproto.relay_url.as_ref().map(|relay| {
                Arc::new(Importer::new(
                    store.clone(),
                    Arc::clone(&repos),
                    Arc::clone(&http_client),
                    relay.clone(),
                ))
            });
            Bluesky {
                importer,
                images: Arc::new(Images::new(store.clone(), Arc::clone(&identity))),
                listings: Arc::default(),
                schedule: Arc::new(Schedule::new(
                    store.clone(),
                    Arc::clone(&calendar),
                    config.public_url.clone(),
                )),
                calendar,
                reconciler: Arc::new(Reconciler::new(store.clone(), Arc::clone(&repos))),
                repos,
                consumer,
                identity,
                profiles,
                auth,
            }
        });
        let mailer = Mailer::new(&config.mail)?;
        let accounts = Arc::new(Accounts::new(
            store.clone(),
            kv.clone(),
            Arc::new(mailer),
            config.public_url.clone(),
        ));
        let state = AppState {
            config: Arc::new(config),
            store,
            kv,
            leptos_options,
            metrics: metrics::recorder(),
            bluesky,
            accounts,
        };
        // The session layer inside the limits: a refused request never gets (or stores) a session.
        // The page cache outside the sessions (it sees a page that sets a cookie) and the address
        // redirects (a kept event page needs no lookup of its slug).
        let mut app = router(state.clone()).layer(session_layer);
        if let Some(lifetime) = state.config.page_cache {
            let cache = Arc::new(page_cache::PageCache::new(state.store.clone(), lifetime));
            app = app.layer(axum::middleware::from_fn_with_state(cache, page_cache::serve));
        }
        // The site's own files are not counted against an address's rate (see `limits::apply`):
        // a plain path under /pkg/ to a file that is there. A miss still counts, as it renders
        // the not-found page.
        let site_root = std::path::PathBuf::from(&state.config.site_root);
        let site_file = move |path: &str| {
            path.starts_with("/pkg/") && assets::plain_path(path).is_some_and(|file| site_root.join(file).is_file())
        };
        let (router, forget_quiet_clients) = limits::apply(app, &state.config.limits, site_file);
        let router = router
            // Pages and JSON compressed as they go out (fast settings: a page is rendered for
            // each request); files arrive compressed already and are left alone, and so is a
            // file too large to compress on the way (see `assets::LARGEST_COMPRESSED_HERE`).
            .layer(
                CompressionLayer::new()
                    .quality(CompressionLevel::Fastest)
                    .compress_when(DefaultPredicate::new().and(NotLargerThan(assets::LARGEST_COMPRESSED_HERE))),
            )
            .layer(axum::middleware::from_fn(metrics::track_http))
            .layer(axum::middleware::from_fn(security_headers::add))
            .layer(
                TraceLayer::new_for_http().make_span_with(|request: &axum::extract::Request| {
                    // The path only, with secrets left out: no query strings (sign-in codes), no
                    // private feed tokens.
                    tracing::debug_span!(
                        "request",
                        method = %request.method(),
                        path = %feeds::loggable_path(request.uri().path()),
                    )
                }),
            );
        Ok(Self {
            listener,
            router,
            forget_quiet_clients: forget_quiet_clients.map(|task| Box::pin(task) as Pin<Box<_>>),
            state,
            redis,
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
        })
    }

    /// The port actually bound (tests ask for port 0).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|addr| addr.port()).unwrap_or_default()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Cancelling this token stops the server and every background task.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled (or a background task ends), then waits for
    /// in-flight requests and every task to finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Self {
            listener,
            router,
            forget_quiet_clients,
            state,
            redis,
            shutdown,
            tasks,
        } = self;
        // Measured once per process on the labelled histories: it changes only with the code.
        tasks.spawn_blocking(|| {
            let score = crate::server::series::labelled::score(&crate::server::series::labelled::histories(
                crate::server::series::labelled::MEASURED,
            ));
            ::metrics::gauge!(crate::server::metrics::SERIES_DETECTION_ACCURACY).set(score.accuracy());
        });
        if let KvStore::Memory(memory) = &state.kv {
            let memory = memory.clone();
            spawn_supervised(&tasks, &shutdown, "kv-purge", async move {
                let mut interval = tokio::time::interval(KV_PURGE_INTERVAL);
                loop {
                    interval.tick().await;
                    let purged = memory.purge_expired();
                    ::metrics::counter!(metrics::KV_EXPIRED_PURGED_TOTAL).increment(purged as u64);
                }
            });
        }

        {
            let store = state.store.clone();
            spawn_supervised(&tasks, &shutdown, "dead-letter-prune", async move {
                let first = tokio::time::Instant::now() + DEAD_LETTER_PRUNE_INTERVAL;
                let mut interval = tokio::time::interval_at(first, DEAD_LETTER_PRUNE_INTERVAL);
                loop {
                    interval.tick().await;
                    let kept = chrono::Duration::days(DEAD_LETTERS_KEPT_DAYS);
                    match store.prune_dead_letters(kept, DEAD_LETTERS_KEPT).await {
                        Ok(0) => {}
                        Ok(pruned) => tracing::info!(pruned, "old dead letters forgotten"),
                        Err(e) => tracing::warn!(error = %Chain(&e), "pruning dead letters failed"),
                    }
                }
            });
        }

        if let Some(task) = forget_quiet_clients {
            spawn_supervised(&tasks, &shutdown, "rate-limit-forget", task);
        }

        let bluesky = state.bluesky.as_ref();
        if let Some(calendar) = bluesky.map(|b| &b.calendar).filter(|_| state.config.role.publishes()) {
            let calendar = Arc::clone(calendar);
            let stop = shutdown.clone();
            spawn_supervised(&tasks, &shutdown, "pending-writes", calendar.run_worker(stop));
        }
        if let Some(schedule) = bluesky.map(|b| &b.schedule).filter(|_| state.config.role.publishes()) {
            let (schedule, stop) = (Arc::clone(schedule), shutdown.clone());
            spawn_supervised(&tasks, &shutdown, "series-scheduler", schedule.run(stop));
        }

        if let Some(ingest) = bluesky
            .and_then(|b| b.consumer.as_ref())
            .filter(|_| state.config.role.ingests())
        {
            let (ingest, stop) = (Arc::clone(ingest), shutdown.clone());
            let reset = state.config.firehose_reset_cursor;
            spawn_supervised(&tasks, &shutdown, "firehose", firehose::run(ingest, reset, stop));
        }

        // The first start imports what the network holds; a later one finishes an import a
        // restart interrupted.
        if let Some(importer) = bluesky
            .and_then(|b| b.importer.as_ref())
            .filter(|_| state.config.role.ingests())
        {
            if let Err(e) = importer.resume_or_begin(shutdown.clone()).await {
                tracing::warn!(error = %Chain(&e), "the network import could not start");
            }
        }

        if let (Some(reconciler), Some(interval)) = (bluesky.map(|b| &b.reconciler), state.config.reconcile_interval) {
            if state.config.role.ingests() {
                let (reconciler, stop) = (Arc::clone(reconciler), shutdown.clone());
                spawn_supervised(
                    &tasks,
                    &shutdown,
                    "reconcile",
                    reconciler.run_periodically(interval, stop),
                );
            }
        }

        if let Some(interval) = state.config.metrics_sample_interval {
            let sampler = Sampler::new(state.store.clone(), state.metrics.clone());
            spawn_supervised(
                &tasks,
                &shutdown,
                "metric-samples",
                sampler.run(interval, shutdown.clone()),
            );
        }

        // Responses go out as soon as they are written: with Nagle's algorithm on, a response
        // written in two parts (head, then body) waits for the client's delayed ACK, ~40 ms.
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY could not be set");
            }
        });
        // The peer address is what the rate limit counts by.
        let served = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .await;
        shutdown.cancel();
        tasks.close();
        tasks.wait().await;
        if let Some(pool) = redis {
            if let Err(e) = pool.quit().await {
                tracing::warn!(error = %Chain(&e), "closing the Redis connections failed");
            }
        }
        state.store.close().await;
        tracing::info!("stopped");
        served
    }
}

/// Runs a background task until shutdown. A task that ends by itself takes the whole application
/// down with it (cancelling the token), so nothing keeps running half-alive.
fn spawn_supervised<F>(tasks: &TaskTracker, shutdown: &CancellationToken, name: &'static str, task: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let shutdown = shutdown.clone();
    tasks.spawn(async move {
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = task => {
                // A task that stops because shutdown began (it watches the same token) is not news.
                if !shutdown.is_cancelled() {
                    tracing::error!(task = name, "background task ended; shutting down");
                    shutdown.cancel();
                }
            }
        }
    });
}

async fn connect_redis(url: &str) -> Result<Pool, StartupError> {
    let config = RedisConfig::from_url(url).map_err(StartupError::Redis)?;
    let policy = ReconnectPolicy::new_exponential(0, 100, 30_000, 2);
    let pool = Pool::new(config, None, None, Some(policy), 4).map_err(StartupError::Redis)?;
    let _connection_tasks = pool.init().await.map_err(StartupError::Redis)?;
    Ok(pool)
}

/// The JSON API's OpenAPI document (kept next to the code; a test checks every path it names
/// exists).
async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
}

/// The app's page routes, worked out once per process. Leptos works them out by rendering the app
/// with every resource's loading suspended, through a process-wide switch
/// (`leptos_server::SuppressResourceLoad`): done while another instance in the same process (the
/// tests run many) renders a page, that page's resources would never load and its request would
/// hang until the timeout.
static PAGE_ROUTES: LazyLock<Vec<AxumRouteListing>> = LazyLock::new(|| generate_route_list(App));

/// Compresses a response of at most this many bytes, or of a length not known ahead (a page
/// rendered as it streams out).
#[derive(Clone, Copy)]
struct NotLargerThan(usize);

impl Predicate for NotLargerThan {
    fn should_compress<B: axum::body::HttpBody>(&self, response: &axum::http::Response<B>) -> bool {
        let declared = response.body().size_hint().exact().or_else(|| {
            response
                .headers()
                .get(axum::http::header::CONTENT_LENGTH)
                .and_then(|length| length.to_str().ok())
                .and_then(|length| length.parse().ok())
        });
        declared.is_none_or(|length| length <= self.0 as u64)
    }
}

/// The fallback: a file of the built site from memory (see [`assets`]); else, for a plain path,
/// Leptos's own handler, which reads a file too large to keep (a debug build's WebAssembly) from
/// disk or renders the not-found page; else (a hidden file, `..`) the not-found page. Under
/// `cargo leptos watch` (files rewritten under the running server), Leptos's handler for all.
fn files_then_pages(
    state: &AppState,
    context: impl Fn() + Clone + Send + Sync + 'static,
) -> impl Fn(Uri, State<AppState>, Request) -> Pin<Box<dyn Future<Output = Response> + Send>> + Clone + Send + Sync + 'static
{
    let assets = assets::Assets::new(
        &state.config.site_root,
        state.leptos_options.hash_files,
        state.config.site_watched,
    )
    .map(Arc::new);
    let options = state.leptos_options.clone();
    let not_found =
        leptos_axum::render_app_to_stream_in_order_with_context(context.clone(), move || shell(options.clone()));
    let from_disk = leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell);
    move |uri: Uri, state: State<AppState>, request: Request| {
        let assets = assets.clone();
        let not_found = not_found.clone();
        let from_disk = from_disk.clone();
        Box::pin(async move {
            match assets {
                Some(assets) => match assets.serve(uri.path(), request.headers()).await {
                    Some(file) => file,
                    None if assets::plain_path(uri.path()).is_some() => from_disk(uri, state, request).await,
                    None => not_found(request).await,
                },
                None => from_disk(uri, state, request).await,
            }
        })
    }
}

fn router(state: AppState) -> Router {
    let routes = PAGE_ROUTES.clone();
    let context = {
        let state = state.clone();
        let client = Arc::new(assets::ClientBuild::of_this_server(&state.config.hash_file));
        move || {
            let client_built = client.is_there();
            provide_context(state.clone());
            provide_context(ClientBuilt(client_built));
            security_headers::provide_page_nonce();
            // A page sent before the browser half is built has no scripts: kept, it would still
            // go out without them for a while after the browser half is in.
            if client_built {
                page_cache::mark_rendered();
            }
        }
    };
    let leptos_options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(scrape::render))
        .route("/api/openapi.json", get(openapi))
        .route(CALLBACK_PATH, get(callback::callback))
        .route(CLIENT_METADATA_PATH, get(metadata::client_metadata))
        .route(JWKS_PATH, get(metadata::jwks))
        .merge(rest::routes())
        .merge(series_api::routes())
        .merge(feeds::routes())
        .merge(record_json::routes())
        .merge(event_images::routes())
        .leptos_routes_with_context(&state, routes, context.clone(), move || shell(leptos_options.clone()))
        .fallback(files_then_pages(&state, context))
        .layer(axum::middleware::from_fn_with_state(state.clone(), addresses::redirect))
        .layer(axum::middleware::from_fn(same_origin::guard))
        .with_state(state)
}
