//! One shared dictionary of the header names HR systems and people use for
//! the same thing ("Surname", "Family Name", "Last Name"), serving the header
//! matching of every target.
//!
//! A template column belongs to a concept when its name or one of its own
//! aliases is one of the concept's names; it is then also matched by every
//! other name of the concept. The table knows no target; it must never hold
//! a name that means two different things (a header is matched by it only
//! when it means one template column; `Mapping::resolve` says when not).

use std::collections::HashMap;
use std::sync::OnceLock;

use super::field::FieldSpec;
use crate::text::normalize;

/// One thing HR files name in many ways.
#[derive(Debug)]
pub struct Concept {
    /// What the names mean, for messages ("a last name").
    pub what: &'static str,
    pub names: &'static [&'static str],
}

/// The dictionary. Names are compared as `text::normalize` leaves them, so
/// "Employee No." and "employee_no" are one name.
pub const CONCEPTS: &[Concept] = &[
    Concept {
        what: "a last name",
        names: &["Last Name", "Surname", "Family Name", "Lastname", "Last", "LName", "Family"],
    },
    Concept {
        what: "a first name",
        names: &["First Name", "Given Name", "Forename", "Firstname", "FName", "Given Names"],
    },
    Concept { what: "a middle name", names: &["Middle Name", "Middle Names", "Second Name"] },
    Concept {
        what: "a preferred name",
        names: &["Preferred Name", "Known As", "Nickname", "Preferred First Name"],
    },
    Concept {
        what: "an employee number",
        names: &[
            "Employee ID",
            "Employee No",
            "Employee Number",
            "Employee Code",
            "Emp ID",
            "Emp No",
            "EmpID",
            "Staff ID",
            "Staff No",
            "Staff Number",
            "Personnel Number",
            "Personnel No",
            "Worker ID",
        ],
    },
    Concept {
        what: "a job title",
        names: &["Job Title", "Position", "Position Title", "Job", "Designation", "Job Name"],
    },
    Concept {
        what: "a mobile phone number",
        names: &[
            "Mobile",
            "Mobile Number",
            "Mobile Phone",
            "Mobile No",
            "Cell",
            "Cell Phone",
            "Cell Number",
            "Cellphone",
            "Phone",
            "Phone Number",
            "Telephone",
            "Telephone Number",
        ],
    },
    Concept {
        what: "an e-mail address",
        names: &["Email", "E-mail", "Email Address", "Work Email", "Business Email", "Mail"],
    },
    Concept {
        what: "a start date",
        names: &[
            "Start Date",
            "Hire Date",
            "Date Hired",
            "Date of Hire",
            "Employment Date",
            "Employment Start Date",
            "Commencement Date",
            "Joining Date",
            "Date Joined",
        ],
    },
    Concept {
        what: "a date of birth",
        names: &["Date of Birth", "Birthday", "Birth Date", "DOB", "Birthdate"],
    },
    Concept { what: "a gender", names: &["Gender", "Sex"] },
    Concept {
        what: "a postal code",
        names: &["Postal Code", "Postcode", "Post Code", "Zip", "Zip Code", "ZIP/Postal Code"],
    },
    Concept { what: "a state", names: &["State", "Province", "State/Province", "County"] },
    Concept {
        what: "an address's first line",
        names: &["Address Line 1", "Address 1", "Street", "Street Address", "Address"],
    },
    Concept { what: "an address's second line", names: &["Address Line 2", "Address 2"] },
    Concept { what: "a city", names: &["City", "Town", "Suburb"] },
    Concept { what: "a department", names: &["Department", "Dept", "Department Name"] },
    Concept { what: "a manager", names: &["Manager", "Reports To", "Line Manager", "Supervisor"] },
    Concept { what: "a user name", names: &["Username", "User Name", "Login Name", "Login"] },
];

/// Normalized name -> the concepts it belongs to, built once.
fn index() -> &'static HashMap<String, Vec<usize>> {
    static INDEX: OnceLock<HashMap<String, Vec<usize>>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut map: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, c) in CONCEPTS.iter().enumerate() {
            for n in c.names {
                let list = map.entry(normalize(n)).or_default();
                if !list.contains(&i) {
                    list.push(i);
                }
            }
        }
        map
    })
}

/// The concepts a (normalized) header names.
pub fn concepts_named(normalized: &str) -> &'static [usize] {
    index().get(normalized).map(Vec::as_slice).unwrap_or(&[])
}

/// The concepts a template column belongs to, by its name and aliases.
pub fn concepts_of(f: &FieldSpec) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for n in std::iter::once(f.column).chain(f.aliases.iter().copied()) {
        for &c in concepts_named(&normalize(n)) {
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out
}

/// The template columns a (normalized) header may mean through the
/// dictionary, with the concept that links them; `per_field` is
/// `concepts_of` for every field.
pub fn fields_meant(per_field: &[Vec<usize>], normalized: &str) -> Vec<(usize, usize)> {
    let named = concepts_named(normalized);
    let mut out = Vec::new();
    for (fi, concepts) in per_field.iter().enumerate() {
        if let Some(&c) = concepts.iter().find(|c| named.contains(c)) {
            out.push((fi, c));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_names_reach_each_concept() {
        let what = |h: &str| -> Vec<&str> {
            concepts_named(&normalize(h)).iter().map(|&c| CONCEPTS[c].what).collect()
        };
        assert_eq!(what("Surname"), ["a last name"]);
        assert_eq!(what("Employee No."), ["an employee number"]);
        assert_eq!(what("staff_id"), ["an employee number"]);
        assert_eq!(what("POSITION"), ["a job title"]);
        assert_eq!(what("Hire Date"), ["a start date"]);
        assert!(what("Favourite Colour").is_empty());
    }

    fn bound(target: &str, headers: &[&str]) -> (Vec<(String, String, String)>, Vec<String>) {
        let t = crate::targets::find(target).unwrap().info();
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        let profile = crate::mapping::profile::Profile::default();
        let m = crate::mapping::Mapping::resolve(&t.template, "f.csv", &headers, &profile, vec![])
            .unwrap();
        let pairs = (0..m.fields.len())
            .filter_map(|f| {
                let col = m.column_of(f)?;
                Some((
                    headers[col].clone(),
                    m.fields[f].column.to_string(),
                    format!("{:?}", m.how(f)?),
                ))
            })
            .collect();
        (pairs, m.notes)
    }

    #[test]
    fn every_target_matches_the_common_names() {
        let (pairs, notes) = bound(
            "tracktik",
            &[
                "Employee No.",
                "Given Name",
                "Surname",
                "Position",
                "Email",
                "Region",
                "Role",
                "Hire Date",
            ],
        );
        let p = |h: &str, c: &str, how: &str| (h.to_string(), c.to_string(), how.to_string());
        assert_eq!(
            pairs,
            [
                p("Employee No.", "Employee ID", "Common(\"an employee number\")"),
                p("Given Name", "First Name", "Common(\"a first name\")"),
                p("Surname", "Last Name", "Common(\"a last name\")"),
                p("Email", "Email", "Name"),
                p("Position", "Job Title", "Common(\"a job title\")"),
                p("Region", "Region", "Name"),
                p("Role", "Role", "Name"),
                p("Hire Date", "Employment Date", "Alias"),
            ]
        );
        assert!(notes.is_empty(), "{notes:?}");
        let (pairs, _) = bound("scim", &["User Name", "Surname", "Given Name", "Staff ID"]);
        let names: Vec<(&str, &str)> =
            pairs.iter().map(|(h, c, _)| (h.as_str(), c.as_str())).collect();
        assert!(names.contains(&("Staff ID", "Employee Number")), "{names:?}");
        assert!(names.contains(&("Surname", "Family Name")), "{names:?}");
    }

    #[test]
    fn a_header_that_may_mean_two_columns_is_not_matched() {
        // SecurityTrax has both a Hire Date and a Start Date.
        let (pairs, notes) =
            bound("securitytrax", &["First Name", "Last Name", "Username", "Date Hired"]);
        assert!(pairs.iter().all(|(h, _, _)| h != "Date Hired"), "{pairs:?}");
        assert_eq!(
            notes,
            [
                "\"Date Hired\" could mean Hire Date or Start Date, so it is not matched; choose one \
              in a profile's [columns]."
            ]
        );
        // Two headers for one column: neither wins.
        let (pairs, notes) = bound(
            "tracktik",
            &["Position", "Designation", "First Name", "Email", "Region", "Role", "Last Name"],
        );
        assert!(pairs.iter().all(|(_, c, _)| c != "Job Title"), "{pairs:?}");
        assert_eq!(
            notes,
            ["\"Position\" and \"Designation\" may each mean Job Title, so none is matched; keep \
              one, or choose one in a profile's [columns]."]
        );
    }

    #[test]
    fn no_name_means_two_things() {
        for (name, concepts) in index() {
            assert_eq!(concepts.len(), 1, "{name} is in {concepts:?}");
        }
    }
}
