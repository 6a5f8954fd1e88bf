//! The exponential moving average of a model's weights ([`TrainConfig::ema`](crate::TrainConfig::ema)).
//!
//! Every float state entry is averaged: Burn's module visitor reaches each `Param` and each `RunningState`
//! (BatchNorm's running mean and variance) alike, so one visitor collects the online values by parameter id and one
//! mapper blends them into the average.

use asd_models::burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use asd_models::burn::tensor::{Device, Tensor};
use std::collections::HashMap;

/// Collects every float entry of a module, flattened, by parameter id.
struct Collect {
    device: Device,
    values: HashMap<ParamId, Tensor<1>>,
}

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.val().without_autodiff().to_device(&self.device);
        let n = tensor.shape().num_elements();
        self.values.insert(param.id, tensor.reshape([n]));
    }
}

/// Replaces each float entry `e` by `decay · e + (1 − decay) · online`.
struct Blend {
    online: HashMap<ParamId, Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        // The average is a copy of the online model (`Module::valid` keeps parameter ids), so every id is found.
        let Some(online) = self.online.get(&param.id).cloned() else {
            return param;
        };
        let decay = self.decay;
        param.map(|average| {
            let online: Tensor<D> = online.reshape(average.shape());
            average.mul_scalar(decay).add(online.mul_scalar(1.0 - decay))
        })
    }
}

/// `average` moved towards `online`: every weight and BatchNorm statistic becomes
/// `decay · average + (1 − decay) · online`. `online` may live on the autodiff device; the result lives where
/// `average` does, without autodiff.
pub(crate) fn update<M: Module>(average: M, online: &M, decay: f64) -> M {
    let Some(device) = average.devices().into_iter().next() else {
        return average;
    };
    // `valid` flushes BatchNorm's pending running-statistic updates and drops autodiff.
    let mut collect = Collect {
        device: device.without_autodiff(),
        values: HashMap::new(),
    };
    online.valid().visit(&mut collect);
    average.map(&mut Blend {
        online: collect.values,
        decay,
    })
}
