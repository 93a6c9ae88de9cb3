//! Real CBS files from `../shared/data`, when that folder is there (it is not in a fresh clone):
//! national wijken and gemeenten 2022, Ermelo's buurten 2021 and Utrecht's kwb 2024 table,
//! imported one after the other into one store.

mod common;

use std::io::Write as _;
use std::path::PathBuf;

use buurtcirkel::model::Level;
use buurtcirkel::store::Store;
use common::{areas_of, import_areas, import_figures, level_counts, ogrinfo_counts, tmp};

fn shared_data() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if dir.is_dir() {
        Some(dir)
    } else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIP: ../shared/data not found; these tests need the shared CBS files next to the repository ({})",
            dir.display()
        );
        None
    }
}

#[test]
fn real_cbs_wijken_buurten_and_key_figures_import_into_one_store() {
    let Some(data_dir) = shared_data() else {
        return;
    };
    let dir = tmp();
    let store = dir.path().join("s.gpkg");

    let run = import_areas(
        &store,
        &data_dir.join("cbs-nld-wijken-2022/nld_2022_tmap.gpkg"),
        &[],
    );
    run.assert_ok();
    assert!(
        run.stdout
            .contains("layer wijken: 3340 features (3340 wijk)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("layer gemeenten: 345 features (345 gemeente)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("layer provincies: skipped"),
        "{}",
        run.stdout
    );
    let counts = ogrinfo_counts(&store);
    assert_eq!(counts["wijken"], 3340);
    assert_eq!(counts["gemeenten"], 345);
    assert!(!counts.contains_key("provincies"));

    let run = import_areas(
        &store,
        &data_dir.join("cbs-ermelo-2021/ermelo_buurten_2021.gpkg"),
        &[],
    );
    run.assert_ok();
    assert!(
        run.stdout.contains("water-only areas flagged: 1"),
        "{}",
        run.stdout
    );
    let counts = ogrinfo_counts(&store);
    assert_eq!(counts["buurten"], 17);
    assert_eq!(counts["wijken"], 3340, "a buurt import keeps the wijken");
    let data = Store::new(&store).load().expect("load");
    let buurten = areas_of(&data, Level::Buurt);
    assert!(buurten["BU02339997"].water);
    assert_eq!(buurten.values().filter(|a| a.water).count(), 1);

    let run = import_figures(
        &store,
        &data_dir.join("cbs-utrecht-kwb/kwb-2024_gemeente-utrecht.csv"),
        &[],
    );
    run.assert_ok();
    assert!(
        run.stdout
            .contains("joined 11 of 122 codes to stored areas"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("111 codes match no stored area: BU03440111"),
        "{}",
        run.stdout
    );
    let counts = ogrinfo_counts(&store);
    assert_eq!(
        (counts["gemeenten"], counts["wijken"], counts["buurten"]),
        (345, 3340, 17)
    );
    assert_eq!(counts["bc_imports"], 3);

    let data = Store::new(&store).load().expect("load");
    assert_eq!(level_counts(&data), [345, 3340, 17]);
    let gm = &areas_of(&data, Level::Gemeente)["GM0344"];
    assert_eq!(gm.figures.inwoners, Some(374_238.0));
    // round(40261 / 374238 * 100, 1)
    assert_eq!(gm.figures.p_65plus, Some(10.8));
    let wijken = areas_of(&data, Level::Wijk);
    let utrecht: Vec<_> = wijken
        .values()
        .filter(|w| w.code.as_str().starts_with("WK0344"))
        .collect();
    assert_eq!(utrecht.len(), 10);
    assert_eq!(wijken["WK034401"].figures.inwoners, Some(29_710.0));
    assert!(utrecht.iter().all(|w| w.figures.inwoners.is_some()));
}
