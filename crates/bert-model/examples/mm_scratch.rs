use std::time::Instant;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
fn med(mut f: impl FnMut()) -> f64 { f(); let mut t: Vec<f64> = (0..11).map(|_| { let s = Instant::now(); f(); s.elapsed().as_secs_f64()*1e3 }).collect(); t.sort_by(f64::total_cmp); t[5] }
fn main() {
    let d = Device::flex();
    let x = Tensor::<3>::random([32, 64, 1536], Distribution::Default, &d);
    let v = x.clone().into_data().try_into_vec::<f32>().unwrap();
    println!("into_data+vec  {:.2}", med(|| { let _ = x.clone().into_data().try_into_vec::<f32>().unwrap(); }));
    println!("into_data      {:.2}", med(|| { let _ = x.clone().into_data(); }));
    println!("from_data      {:.2}", med(|| { let _ = Tensor::<3>::from_data(TensorData::new(v.clone(), [32, 64, 1536]), &d); }));
    println!("vec clone      {:.2}", med(|| { let _ = v.clone(); }));
    println!("gelu on tensor {:.2}", med(|| { let _ = bert_model::activation::gelu_exact(x.clone()); }));
    println!("x+x            {:.2}", med(|| { let _ = x.clone() + x.clone(); }));
}
