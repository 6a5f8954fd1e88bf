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

/// Multiplies every float entry of a module by a factor, keeping each parameter a leaf that requires a gradient
/// when it did.
struct Scale(f64);

impl ModuleMapper for Scale {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let factor = self.0;
        param.map(|value| {
            let trained = value.is_require_grad();
            // Scaled outside the graph, then a fresh leaf, as an optimiser step leaves a parameter.
            let scaled = Tensor::from_inner(value.inner().mul_scalar(factor));
            if trained { scaled.require_grad() } else { scaled }
        })
    }
}

/// `model` with every float state entry (weights and BatchNorm statistics) multiplied by `factor` (OS-SCL's decay of
/// the online model, [`EmaConfig::online_decay`](crate::EmaConfig::online_decay)). `Module::train` first folds
/// BatchNorm's pending running-statistic updates into their values, so the statistics are scaled too.
pub(crate) fn shrink<M: Module>(model: M, factor: f64) -> M {
    model.train().map(&mut Scale(factor))
}

#[cfg(test)]
mod tests {
    use super::*;
    // `#[derive(Module)]` names the `burn` crate.
    use asd_models::burn;
    use asd_models::burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
    use asd_models::burn::tensor::TensorData;

    #[derive(Module, Debug)]
    struct Net {
        linear: Linear,
        norm: BatchNorm,
    }

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default()
    }

    /// Criterion: after a training forward (BatchNorm's running mean updated but not yet folded in), shrinking by
    /// 1/2 halves the weights and the folded running mean, and the weights still receive gradients.
    #[test]
    fn shrink_scales_weights_and_statistics_and_keeps_them_trainable() {
        let device = Device::flex().autodiff();
        device.seed(1);
        let net = Net {
            linear: LinearConfig::new(3, 2).init(&device),
            norm: BatchNormConfig::new(2).init(&device),
        };
        let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3]), &device);
        let _ = net.norm.forward(net.linear.forward(x.clone()));
        let snapshot = net.valid();
        let half = |v: Vec<f32>| v.into_iter().map(|v| v * 0.5).collect::<Vec<f32>>();
        let mean = half(values(snapshot.norm.running_mean.value()));
        let weight = half(values(snapshot.linear.weight.val()));
        assert!(mean.iter().any(|&m| m != 0.0), "the forward moved the running mean");
        let shrunk = shrink(net, 0.5);
        assert_eq!(values(shrunk.valid().norm.running_mean.value()), mean);
        assert_eq!(values(shrunk.linear.weight.val()), weight);
        let grads = shrunk.linear.forward(x).sum().backward();
        assert!(
            shrunk.linear.weight.grad(&grads).is_some(),
            "the weight is still trained"
        );
    }
}
