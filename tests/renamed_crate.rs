//! `crate = path` with a real renamed dependency: the `renamed` fixture depends on dsu as
//! `dsu_renamed` and gives that path to every attribute and to the derive.

use std::sync::atomic::Ordering;
use std::sync::Mutex;

use dsu::Transform;
use renamed::{v1, Entry, Kind, Point, Total};

#[test]
fn every_attribute_works_through_a_renamed_dependency() {
    assert_eq!(renamed::mirror(Point { x: 1, y: -2 }), Point { x: -1, y: 2 });
    assert_eq!(Point { x: 1, y: 2 }.sum(), 3);
    assert_eq!(Point { x: 1, y: 2 }.to_string(), "1,2");
    assert_eq!(renamed::mirrored_sum(Point { x: 1, y: 2 }), -3);
    renamed::HITS.with(|hits| hits.fetch_add(1, Ordering::Relaxed));
    assert_eq!(renamed::HITS.with(|hits| hits.load(Ordering::Relaxed)), 1);
    let status = dsu::status();
    let paths: Vec<&str> = status.items.iter().map(|item| item.item.path.as_str()).collect();
    for path in ["renamed::mirror", "renamed::Point::sum"] {
        assert!(paths.contains(&path), "{path} in {paths:?}");
    }
}

#[test]
fn the_transformers_convert_through_a_renamed_dependency() {
    let entry = Entry::transform(&v1::Entry { value: "a".to_owned() });
    assert_eq!(entry, Entry { value: "a".to_owned(), hits: 0 });
    assert_eq!(Kind::transform(&v1::Kind::Sized(3)), Kind::Sized(3));
    assert_eq!(Kind::transform(&v1::Kind::Plain), Kind::Plain);
    assert_eq!(Total::transform(&v1::Total(7)).0, 7);
    let totals = <Mutex<Vec<Total>>>::transform(&Mutex::new(vec![v1::Total(2)]));
    assert_eq!(totals.lock().unwrap()[0].0, 2);
    assert!(renamed::TOTALS.with(|totals| totals.lock().unwrap().is_empty()));
}
