//! The wasmtime engine as this host configures it: component model with async,
//! pooling allocation, epoch interruption and an on-disk compilation cache.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{
    Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
};

use crate::{HostConfig, HostError};

/// How often the epoch advances; deadlines are counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// A configured engine plus the thread that advances its epoch.
///
/// Dropping the last handle stops the ticker.
#[derive(Clone)]
pub struct HostEngine {
    engine: Engine,
    _ticker: Arc<EpochTicker>,
}

impl std::fmt::Debug for HostEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostEngine").finish_non_exhaustive()
    }
}

impl HostEngine {
    /// Builds the engine, preferring the pooling allocator and falling back to
    /// on-demand allocation where the machine cannot reserve the address space.
    pub fn new(config: &HostConfig) -> Result<Self, HostError> {
        let engine = match Engine::new(&base_config(config, true)?) {
            Ok(engine) => engine,
            Err(error) => {
                tracing::warn!(%error, "pooling allocator unavailable; using on-demand allocation");
                Engine::new(&base_config(config, false)?).map_err(HostError::Engine)?
            }
        };
        let ticker = EpochTicker::start(engine.clone());
        Ok(Self {
            engine,
            _ticker: ticker,
        })
    }

    /// The underlying wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

fn base_config(host: &HostConfig, pooling: bool) -> Result<Config, HostError> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.wasm_component_model_async(true);
    config.epoch_interruption(true);
    if pooling {
        let mut pool = PoolingAllocationConfig::default();
        let instances = host.max_concurrent_requests.max(1) * 2;
        pool.total_component_instances(instances)
            .total_core_instances(instances * 8)
            .total_memories(instances * 8)
            .total_tables(instances * 8)
            .max_memory_size(host.max_memory_bytes);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    if let Some(dir) = &host.cache_dir {
        let mut cache = CacheConfig::new();
        cache.with_directory(dir);
        config.cache(Some(Cache::new(cache).map_err(HostError::Engine)?));
    }
    Ok(config)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on a plain thread, so that
/// deadlines hold even when every async worker is busy.
struct EpochTicker {
    stop: AtomicBool,
}

impl EpochTicker {
    fn start(engine: Engine) -> Arc<Self> {
        let ticker = Arc::new(Self {
            stop: AtomicBool::new(false),
        });
        let weak = Arc::downgrade(&ticker);
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while let Some(ticker) = weak.upgrade() {
                    if ticker.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    drop(ticker);
                    engine.increment_epoch();
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .expect("spawning the epoch thread");
        ticker
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
