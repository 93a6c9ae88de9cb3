//! `import figures`: a CBS "Kerncijfers wijken en buurten" CSV joined to stored areas on the
//! area code, with percentages derived from counts, `.` as missing, and unmatched codes listed.

mod common;

use std::path::{Path, PathBuf};

use buurtcirkel::ingest::NoProgress;
use buurtcirkel::ingest::columns::Mapping;
use buurtcirkel::ingest::figures::read_figures;
use buurtcirkel::model::{AreaCode, Level};
use buurtcirkel::store::Store;
use common::{
    areas_of, cbs_2022_gpkg, import_areas, import_figures, ogrinfo_counts, ogrinfo_where, snapshot,
    tmp,
};

/// A kwb table in the CBS layout: quoted numbers, `.` for missing, a row for the whole
/// country (`NL00`) and two codes the fixture store does not have.
const KWB: &str = r#"gwb_code_10,gwb_code_8,regio,gm_naam,recs,a_inw,a_65_oo,a_hh,a_1p_hh,p_ink_li,bev_dich
NL00,"0000",Nederland,Nederland,Land,"17942942","3550000","8100000","3200000","40","."
GM0123,"0123",Teststad,Teststad,Gemeente,"5120","1090","2300","880","38","."
WK012301,"012301",West,Teststad,Wijk,"2850","712","1250","455",".","."
WK012302,"012302",Oost,Teststad,Wijk,"2270","378","1050","425","36","."
WK012309,"012309",Nieuwbouw,Teststad,Wijk,"10","1","5","2",".","."
BU01230101,"01230101",Centrum,Teststad,Buurt,"1523","287","700","301","41","."
BU01230102,"01230102",Molenerf,Teststad,Buurt,".","95","550",".",".","."
BU01230201,"01230201",Hoevepark,Teststad,Buurt,"1187",".","520","212","33","."
BU01230399,"01230399",Polder,Teststad,Buurt,"15","4","7","3",".","."
"#;

fn store_with_areas(dir: &Path) -> PathBuf {
    let src = dir.join("wijkenbuurten_2022.gpkg");
    cbs_2022_gpkg(&src);
    let store = dir.join("s.gpkg");
    import_areas(&store, &src, &[]).assert_ok();
    store
}

fn csv(dir: &Path, name: &str, text: &str) -> PathBuf {
    common::write_text(dir, name, text)
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn a_kwb_table_is_joined_to_stored_areas_with_derived_percentages() {
    let dir = tmp();
    let store = store_with_areas(dir.path());
    let src = csv(dir.path(), "kwb-2022.csv", KWB);

    let run = import_figures(&store, &src, &[]);
    run.assert_ok();
    assert!(run.stdout.contains("import figures:"), "{}", run.stdout);
    assert!(run.stdout.contains("year: 2022"), "{}", run.stdout);
    assert!(
        run.stdout.contains("p_65plus <- a_65_oo / inwoners"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("joined 6 of 8 codes to stored areas"),
        "{}",
        run.stdout
    );

    let data = Store::new(&store).load().expect("load");
    let gm = &areas_of(&data, Level::Gemeente)["GM0123"];
    assert_eq!(gm.figures.inwoners, Some(5120.0));
    // round(1090 / 5120 * 100, 1) and round(880 / 2300 * 100, 1)
    assert!(close(gm.figures.p_65plus, 21.3), "{:?}", gm.figures);
    assert!(close(gm.figures.p_eenpersoonshh, 38.3), "{:?}", gm.figures);
    assert_eq!(gm.figures.p_laag_inkomen, Some(38.0));
    let bu = areas_of(&data, Level::Buurt);
    let centrum = &bu["BU01230101"].figures;
    assert_eq!(centrum.inwoners, Some(1523.0));
    assert_eq!(centrum.huishoudens, Some(700.0));
    assert!(close(centrum.p_65plus, 18.8), "{centrum:?}"); // 287 / 1523 = 18.84 %
    assert!(close(centrum.p_eenpersoonshh, 43.0), "{centrum:?}");
    assert_eq!(centrum.p_laag_inkomen, Some(41.0));
    // Figures the table does not have stay as the area import left them.
    assert_eq!(centrum.adresdichtheid, Some(2600.0));
    let wk = areas_of(&data, Level::Wijk);
    assert!(close(wk["WK012301"].figures.p_65plus, 25.0));
    assert!(close(wk["WK012302"].figures.p_65plus, 16.7)); // 378 / 2270 = 16.65 %
    // Areas the table does not mention keep what they had.
    assert_eq!(bu["BU01230202"].figures.inwoners, Some(1000.0));
    assert_eq!(data.imports.len(), 2);
    assert_eq!(data.imports[1].kind, "figures");
    assert_eq!(data.imports[1].source, "kwb-2022.csv");

    let counts = ogrinfo_counts(&store);
    assert_eq!(
        (counts["gemeenten"], counts["wijken"], counts["buurten"]),
        (1, 2, 5),
        "a figures import must not add or drop areas"
    );
    assert_eq!(counts["bc_imports"], 2);
    let dump = ogrinfo_where(&store, "buurten", "code = 'BU01230101'");
    assert!(dump.contains("p_65plus (Real) = 18.8"), "{dump}");
}

#[test]
fn dots_in_a_kwb_table_become_missing_values() {
    let dir = tmp();
    let store = store_with_areas(dir.path());
    let src = csv(dir.path(), "kwb-2022.csv", KWB);

    let run = import_figures(&store, &src, &[]);
    run.assert_ok();
    assert!(run.stdout.contains("missing values:"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("bevolkingsdichtheid: no values in this table"),
        "{}",
        run.stdout
    );

    let data = Store::new(&store).load().expect("load");
    let bu = areas_of(&data, Level::Buurt);
    // a_inw is '.': no inhabitants, and no 65+ share without a denominator.
    assert_eq!(bu["BU01230102"].figures.inwoners, None);
    assert_eq!(bu["BU01230102"].figures.p_65plus, None);
    assert_eq!(bu["BU01230102"].figures.p_eenpersoonshh, None);
    // a_65_oo is '.'.
    assert_eq!(bu["BU01230201"].figures.p_65plus, None);
    assert_eq!(bu["BU01230201"].figures.inwoners, Some(1187.0));
    let wk = areas_of(&data, Level::Wijk);
    assert_eq!(wk["WK012301"].figures.p_laag_inkomen, None);
    let dump = ogrinfo_where(&store, "buurten", "code = 'BU01230102'");
    assert!(dump.contains("inwoners (Real) = (null)"), "{dump}");
}

#[test]
fn unmatched_codes_and_the_country_row_are_listed_in_the_report() {
    let dir = tmp();
    let store = store_with_areas(dir.path());
    let src = csv(dir.path(), "kwb-2022.csv", KWB);

    let run = import_figures(&store, &src, &[]);
    run.assert_ok();
    assert!(
        run.stdout
            .contains("WARNING: 2 codes match no stored area: BU01230399, WK012309"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("1 rows without a GM/WK/BU code skipped: NL00"),
        "{}",
        run.stdout
    );
    let data = Store::new(&store).load().expect("load");
    assert!(data.areas.iter().all(|a| a.code.as_str() != "BU01230399"));
}

#[test]
fn a_kwb_table_matching_no_stored_area_fails_and_leaves_the_store_unchanged() {
    let dir = tmp();
    let store = store_with_areas(dir.path());
    let before = snapshot(&store);
    let src = csv(
        dir.path(),
        "kwb-andere-gemeente.csv",
        "gwb_code_10,regio,a_inw,a_65_oo\nGM0999,Elders,\"100\",\"20\"\nBU09990101,Ergens,\"50\",\"10\"\n",
    );

    import_figures(&store, &src, &[])
        .assert_failed()
        .assert_error_mentions(&[
            "kwb-andere-gemeente.csv",
            "none of its 2 area codes matches",
            "BU09990101",
            "the store is unchanged",
        ]);
    before.assert_unchanged();
}

#[test]
fn figures_before_any_store_exists_fail_saying_to_import_areas_first() {
    let dir = tmp();
    let store = dir.path().join("s.gpkg");
    let src = csv(dir.path(), "kwb-2022.csv", KWB);

    import_figures(&store, &src, &[])
        .assert_failed()
        .assert_error_mentions(&["s.gpkg", "does not exist yet", "import areas first"]);
    assert!(
        !store.exists(),
        "a failed figures import must not create a store"
    );
    common::assert_no_temporary_files(dir.path());
}

#[test]
fn a_table_without_a_code_column_fails_and_leaves_the_store_unchanged() {
    let dir = tmp();
    let store = store_with_areas(dir.path());
    let before = snapshot(&store);
    let src = csv(
        dir.path(),
        "tabel.csv",
        "postcode,a_inw\n\"3811\",\"1200\"\n\"3812\",\"800\"\n",
    );

    import_figures(&store, &src, &[])
        .assert_failed()
        .assert_error_mentions(&["tabel.csv", "no layer with CBS area codes", "gwb_code_10"]);
    before.assert_unchanged();
}

#[test]
fn a_table_with_a_code_twice_fails_and_leaves_the_store_unchanged() {
    let dir = tmp();
    let store = store_with_areas(dir.path());
    let before = snapshot(&store);
    let src = csv(
        dir.path(),
        "dubbel.csv",
        "gwb_code_10,regio,a_inw\nBU01230101,Centrum,\"1\"\nBU01230101,Centrum,\"2\"\n",
    );

    import_figures(&store, &src, &[])
        .assert_failed()
        .assert_error_mentions(&["dubbel.csv", "BU01230101 occurs twice", "line 3"]);
    before.assert_unchanged();
}

#[test]
fn the_library_derives_percentages_from_kwb_counts() {
    let dir = tmp();
    let src = csv(dir.path(), "kwb-2022.csv", KWB);

    let import = read_figures(&src, &Mapping::default(), &NoProgress).expect("read");
    assert_eq!(import.rows.len(), 8);
    let row = &import.rows[&AreaCode::parse("BU01230101").expect("code")];
    assert_eq!(row["inwoners"], Some(1523.0));
    assert!(close(row["p_65plus"], 18.8));
    assert!(
        !row.contains_key("bevolkingsdichtheid"),
        "a column of dots says nothing and must be dropped"
    );
    let layer = &import.report.layers[0];
    assert_eq!(layer.levels.get("buurt"), Some(&4));
    assert_eq!(layer.missing.get("p_laag_inkomen"), Some(&4));
}

fn country_only_table(dir: &Path) -> PathBuf {
    csv(
        dir,
        "kwb-alleen-nederland.csv",
        "gwb_code_10,regio,a_inw,a_65_oo\nNL00,Nederland,\"17942942\",\"3550000\"\nBron: CBS,,,\n",
    )
}

#[test]
fn a_table_with_only_a_country_row_fails_and_leaves_the_store_unchanged() {
    let dir = tmp();
    let store = store_with_areas(dir.path());
    let before = snapshot(&store);
    let src = country_only_table(dir.path());

    import_figures(&store, &src, &[])
        .assert_failed()
        .assert_error_mentions(&["kwb-alleen-nederland.csv"]);
    before.assert_unchanged();
}

#[test]
fn a_table_with_only_a_country_row_says_it_has_no_area_codes() {
    let dir = tmp();
    let store = store_with_areas(dir.path());
    let src = country_only_table(dir.path());

    let run = import_figures(&store, &src, &[]);
    run.assert_failed()
        .assert_error_mentions(&["kwb-alleen-nederland.csv", "NL00"]);
    assert!(
        !run.error().contains("import the areas first"),
        "the areas are imported; the table is the problem:\n{}",
        run.error()
    );
}

#[test]
fn unmapped_numeric_columns_are_kept_as_extra_figures_and_text_columns_are_not() {
    let dir = tmp();
    let store = store_with_areas(dir.path());
    let src = csv(
        dir.path(),
        "rivm.csv",
        "gwb_code_10,regio,Eenzaamheid_pct,leeg\n\
         BU01230101,Centrum,\"12,5\",.\n\
         BU01230102,Molenerf,-99997,.\n\
         BU01230201,Hoevepark,7,\n",
    );
    let run = import_figures(&store, &src, &[]);
    run.assert_ok();
    assert!(
        run.stdout
            .contains("kept 1 extra numeric column as extra figures"),
        "{}",
        run.stdout
    );
    let data = Store::new(&store).load().unwrap();
    let areas = areas_of(&data, Level::Buurt);
    let get = |code: &str| areas[code].figures.clone();
    assert_eq!(
        get("BU01230101").column("eenzaamheid_pct"),
        Some(Some(12.5))
    );
    // A CBS sentinel is missing, not a number.
    assert_eq!(get("BU01230102").column("eenzaamheid_pct"), Some(None));
    assert_eq!(get("BU01230201").column("eenzaamheid_pct"), Some(Some(7.0)));
    // Text and all-empty columns are not kept; known figures stay as they were.
    assert!(
        get("BU01230101")
            .extra
            .keys()
            .all(|k| k == "eenzaamheid_pct")
    );
    assert!(get("BU01230101").column("regio").is_none());
    assert!(get("BU01230101").inwoners.is_some());
    // The store still opens in GDAL with the JSON column beside the figures.
    let info = ogrinfo_where(&store, "buurten", "code = 'BU01230101'");
    assert!(info.contains("figures_extra"), "{info}");
}
