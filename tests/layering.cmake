# The layering rule of include/thaw/ (README.md, "Layering"), checked by the header tests: each
# header compiles against an include tree of symlinks holding only its own folder, what that
# folder may include (and, with each entry, what the entry's folder may include), and the
# root's config.hpp and fwd.hpp. An include that breaks the rule fails as
#   layering/model-sees-core+layers/thaw/model/model.hpp:25:10: fatal error: thaw/train/loss.hpp: No such file
# An entry is a folder of include/thaw/ or one header in it.
file(REMOVE_RECURSE ${CMAKE_CURRENT_BINARY_DIR}/layering)  # rebuilt below, with today's headers

set(thaw_may_include_core "")
set(thaw_may_include_layers core)
set(thaw_may_include_backend layers)
set(thaw_may_include_models layers)
set(thaw_may_include_model layers)  # the backend is Model's template argument, never included
set(thaw_may_include_metrics "")
set(thaw_may_include_io core/state_dict.hpp)
set(thaw_may_include_data io core/shuffle.hpp)  # nothing of the network side
set(thaw_may_include_train model io data/labelled_images.hpp)
set(thaw_may_include_viz model backend io)
set(thaw_may_include_report metrics io/atomic_file.hpp)  # reads run.json files, not models
set(thaw_may_include_experiment model)  # the sharing plan reads Model's frozen prefixes

# thaw_layer_entries(<folder> <out>): the entries a folder's headers may use, its own first,
# closed over what each entry's folder may include.
function(thaw_layer_entries folder out)
  set(entries ${folder})
  set(pending ${thaw_may_include_${folder}})
  while(pending)
    list(POP_FRONT pending entry)
    if(entry IN_LIST entries)
      continue()
    endif()
    list(APPEND entries ${entry})
    string(REGEX REPLACE "/.*" "" entry_folder ${entry})
    if(NOT DEFINED thaw_may_include_${entry_folder})
      message(FATAL_ERROR "tests/layering.cmake: '${entry}' names no folder with a rule")
    endif()
    list(APPEND pending ${thaw_may_include_${entry_folder}})
  endwhile()
  set(${out} ${entries} PARENT_SCOPE)
endfunction()

# thaw_layer_include_dir(<header> <out>): the include directory that <header> (thaw/...) is
# compiled against. thaw.hpp, the umbrella, sees everything.
function(thaw_layer_include_dir header out)
  set(source_root ${PROJECT_SOURCE_DIR}/include)
  if(header STREQUAL "thaw/thaw.hpp")
    set(${out} ${source_root} PARENT_SCOPE)
    return()
  endif()
  if(header MATCHES "^thaw/([^/]+)/")
    set(folder ${CMAKE_MATCH_1})
    if(NOT DEFINED thaw_may_include_${folder})
      message(FATAL_ERROR "tests/layering.cmake: include/thaw/${folder}/ has no layering rule; add one "
                          "(thaw_may_include_${folder}) and the README's Layering list")
    endif()
    thaw_layer_entries(${folder} entries)
  else()
    set(folder root)
    set(entries root)
  endif()
  foreach(entry IN LISTS entries)  # a header whose whole folder is in needs no entry
    if(entry MATCHES "^([^/]+)/" AND CMAKE_MATCH_1 IN_LIST entries)
      list(REMOVE_ITEM entries ${entry})
    endif()
  endforeach()
  list(POP_FRONT entries)  # the folder itself
  list(JOIN entries "+" seen)
  string(REPLACE "/" "_" seen "${seen}")
  if(seen STREQUAL "")
    set(seen nothing)
  endif()
  set(tree ${CMAKE_CURRENT_BINARY_DIR}/layering/${folder}-sees-${seen})
  set(${out} ${tree} PARENT_SCOPE)
  if(EXISTS ${tree})
    return()
  endif()
  # File symlinks, not folder ones: a relative "../train/x.hpp" then stays inside the tree.
  set(files thaw/config.hpp thaw/fwd.hpp)
  if(NOT folder STREQUAL "root")
    file(GLOB_RECURSE own RELATIVE ${source_root} ${source_root}/thaw/${folder}/*.hpp)
    list(APPEND files ${own})
  endif()
  foreach(entry IN LISTS entries)
    if(entry MATCHES "\\.hpp$")
      list(APPEND files thaw/${entry})
    else()
      file(GLOB_RECURSE more RELATIVE ${source_root} ${source_root}/thaw/${entry}/*.hpp)
      list(APPEND files ${more})
    endif()
  endforeach()
  foreach(file IN LISTS files)
    get_filename_component(dir ${tree}/${file} DIRECTORY)
    file(MAKE_DIRECTORY ${dir})
    file(CREATE_LINK ${source_root}/${file} ${tree}/${file} SYMBOLIC)
  endforeach()
endfunction()
