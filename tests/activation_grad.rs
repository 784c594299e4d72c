//! HF's exact GELU has its exact derivative on the backend under test:
//! d/dx [x Φ(x)] = Φ(x) + x φ(x), computed here in f64. burn 0.22's default `gelu_backward`
//! (used by wgpu) differentiates the tanh approximation instead, up to 6% off per element;
//! `bert_model::activation::gelu_exact` works around it, and this test would catch a backend
//! where it does not.

use bert_e2e::{assert_close, device};
use bert_model::activation::gelu_exact;
use burn::tensor::{Tensor, TensorData};

/// erf by its Maclaurin series (|x| ≤ 4 here converges in f64 well below f32 precision).
fn erf(x: f64) -> f64 {
    let (mut term, mut sum) = (x, x);
    for n in 1..200 {
        term *= -x * x / n as f64;
        sum += term / (2 * n + 1) as f64;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

#[test]
fn gelu_gradient_is_exact() {
    let xs: Vec<f32> = (0..81).map(|i| -4.0 + i as f32 * 0.1).collect();
    let ad = device().autodiff();
    let x = Tensor::<1>::from_data(TensorData::new(xs.clone(), [xs.len()]), &ad).require_grad();
    let y = gelu_exact(x.clone());
    let grads = y.clone().sum().backward();
    let got = x.grad(&grads).unwrap().into_data().try_into_vec_as::<f32>().unwrap();
    let want: Vec<f32> = xs
        .iter()
        .map(|&x| {
            let x = x as f64;
            let cdf = 0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2));
            let pdf = (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
            (cdf + x * pdf) as f32
        })
        .collect();
    assert_close("gelu'(x)", &got, &want, 1e-5);
    let values = y.into_data().try_into_vec_as::<f32>().unwrap();
    let exact: Vec<f32> = xs.iter().map(|&x| (x as f64 * 0.5 * (1.0 + erf(x as f64 / std::f64::consts::SQRT_2))) as f32).collect();
    assert_close("gelu(x)", &values, &exact, 1e-5);
}
